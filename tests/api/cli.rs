//! The operator CLI as an operator runs it: the `tessera` binary against a real `tessera
//! serve`, every subcommand, its exit codes, its JSON parsed, and a search of everything it
//! printed and of its session file for secrets it must not show.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::serve_process::{BIN, ServeProcess};

/// One CLI invocation's result.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the CLI against one server with its own config directory, keeping every line it
/// printed for the secret search.
pub struct Cli {
    pub server: String,
    pub config: tempfile::TempDir,
    pub printed: std::cell::RefCell<String>,
}

impl Cli {
    pub fn new(grpc_addr: &str) -> Cli {
        Cli {
            server: format!("http://{grpc_addr}"),
            config: tempfile::tempdir().expect("config dir"),
            printed: Default::default(),
        }
    }

    /// The config directory the CLI makes (inside the temporary one, so its mode is its own).
    pub fn dir(&self) -> std::path::PathBuf {
        self.config.path().join("tessera")
    }

    /// `tessera ARGS` with `token` as TESSERA_TOKEN (none: the saved session, if any).
    pub fn run(&self, token: Option<&str>, args: &[&str], stdin: &str) -> Ran {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("TESSERA_SERVER", &self.server)
            .env("TESSERA_CONFIG_DIR", self.dir())
            .env_remove("TESSERA_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            cmd.env("TESSERA_TOKEN", token);
        }
        let mut child = cmd.spawn().expect("run the CLI");
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(stdin.as_bytes()).expect("write stdin");
        drop(pipe);
        let out = child.wait_with_output().expect("wait");
        let ran = Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).expect("utf8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf8 stderr"),
        };
        let mut printed = self.printed.borrow_mut();
        printed.push_str(&ran.stdout);
        printed.push_str(&ran.stderr);
        ran
    }

    /// `ARGS -o json`, which must succeed; its output parsed.
    pub fn json(&self, token: Option<&str>, args: &[&str]) -> Value {
        self.json_in(token, args, "")
    }

    pub fn json_in(&self, token: Option<&str>, args: &[&str], stdin: &str) -> Value {
        self.json_exit(token, args, stdin, 0)
    }

    /// `ARGS -o json`, which must exit with `code`; its output parsed.
    pub fn json_exit(&self, token: Option<&str>, args: &[&str], stdin: &str, code: i32) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let ran = self.run(token, &all, stdin);
        assert_eq!(ran.code, code, "tessera {args:?}: {}", ran.stderr);
        serde_json::from_str(&ran.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", ran.stdout))
    }

    /// Runs, expecting exit `code` and one error line naming `grpc_code` (when given).
    pub fn fails(&self, token: Option<&str>, args: &[&str], code: i32, grpc_code: &str) -> Ran {
        let ran = self.run(token, args, "");
        assert_eq!(
            ran.code, code,
            "tessera {args:?}: {} {}",
            ran.stdout, ran.stderr
        );
        assert_eq!(
            ran.stderr.lines().count(),
            1,
            "one error line: {}",
            ran.stderr
        );
        assert!(
            ran.stderr.starts_with(&format!("error: {grpc_code}")),
            "{args:?}: {}",
            ran.stderr
        );
        ran
    }
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

pub const PASSWORD: &str = "a long password only this test knows";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_users_and_tokens_from_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let server = ServeProcess::start(&url, &[("RUST_LOG", "info")]);
    let admin = std::fs::read_to_string(dir.path().join("cli.db.admin-key")).expect("key");
    let admin = admin.trim();
    let cli = Cli::new(&server.addr);
    let a = Some(admin);

    // Roles.
    let role = cli.json(
        a,
        &[
            "role",
            "create",
            "support",
            "read:contacts",
            "write:tickets",
            "--description",
            "support staff",
        ],
    );
    assert_eq!(
        role["permissions"],
        serde_json::json!(["read:contacts", "write:tickets"])
    );
    assert_eq!(
        str_of(&cli.json(a, &["role", "get", "support"]), "description"),
        "support staff"
    );
    let set = cli.json(
        a,
        &[
            "role",
            "set",
            "support",
            "read:contacts",
            "write:tickets",
            "read:kb",
        ],
    );
    assert_eq!(set["permissions"].as_array().map(Vec::len), Some(3));
    cli.json(a, &["role", "create", "temp", "read:temp"]);
    let names: Vec<String> = cli
        .json(a, &["role", "list"])
        .as_array()
        .expect("list")
        .iter()
        .map(|r| str_of(r, "name").to_owned())
        .collect();
    assert_eq!(names, ["admin", "support", "temp"]);
    assert_eq!(
        str_of(&cli.json(a, &["role", "delete", "temp"]), "deleted"),
        "temp"
    );
    cli.fails(a, &["role", "get", "temp"], 3, "NOT_FOUND");
    let table = cli.run(a, &["role", "list"], "");
    assert_eq!(table.code, 0);
    assert!(
        table.stdout.starts_with("NAME     PERMISSIONS"),
        "{}",
        table.stdout
    );

    // Users, by name or id.
    let alice = cli.json(a, &["user", "create", "alice", "--role", "support"]);
    let alice_id = str_of(&alice, "id").to_owned();
    assert_eq!(
        str_of(&cli.json(a, &["user", "get", "alice"]), "id"),
        alice_id
    );
    assert_eq!(
        str_of(&cli.json(a, &["user", "get", &alice_id]), "name"),
        "alice"
    );
    assert_eq!(
        cli.json(a, &["user", "list"]).as_array().map(Vec::len),
        Some(2)
    );
    cli.json(a, &["role", "create", "billing", "read:invoices"]);
    let roles = cli.json(a, &["user", "set-roles", "alice", "support", "billing"]);
    assert_eq!(roles["roles"], serde_json::json!(["billing", "support"]));
    assert_eq!(cli.json(a, &["user", "disable", "alice"])["disabled"], true);
    assert_eq!(cli.json(a, &["user", "enable", "alice"])["disabled"], false);
    let with_pw = cli.json_in(
        a,
        &["user", "set-password", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(with_pw["has_password"], true);
    cli.fails(a, &["user", "get", "nobody"], 3, "NOT_FOUND");
    // A key acting as Alice, named by her name.
    let hers = cli.json(
        a,
        &[
            "token",
            "issue",
            "api-key",
            "hers",
            "--scope",
            "read:contacts",
            "--subject",
            "alice",
        ],
    );
    let seen = cli.json_in(
        a,
        &["token", "introspect", "-"],
        &format!("{}\n", str_of(&hers, "token")),
    );
    assert_eq!(str_of(&seen, "subject"), alice_id);

    // Tokens: issued once, listed without secrets, checked, rotated, revoked three ways.
    let issued = cli.run(
        a,
        &[
            "token", "issue", "api-key", "ci", "--scope", "read:*", "--ttl", "30d", "-o", "json",
        ],
        "",
    );
    assert_eq!(issued.code, 0, "{}", issued.stderr);
    assert!(issued.stderr.contains("not shown again"));
    let issued: Value = serde_json::from_str(&issued.stdout).expect("json");
    let (ci, ci_id) = (
        str_of(&issued, "token").to_owned(),
        str_of(&issued, "token_id").to_owned(),
    );
    let listed = cli.json(a, &["token", "list"]);
    assert!(
        listed
            .as_array()
            .expect("list")
            .iter()
            .any(|t| t["token_id"] == ci_id.as_str())
    );
    let allowed = cli.run(a, &["check", &ci, "read:x"], "");
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_eq!(
        cli.run(a, &["check", &ci, "write:x"], "").code,
        1,
        "missing scope"
    );
    assert_eq!(
        cli.run(
            a,
            &["check", "-", "read:x", "--mutating", "--any"],
            &format!("{ci}\n")
        )
        .code,
        0
    );
    assert_eq!(
        cli.run(a, &["check", "tsk_nothing", "read:x"], "").code,
        1,
        "not a token"
    );
    let denied = cli.json_exit(a, &["check", &ci, "write:x", "read:y"], "", 1);
    assert_eq!(str_of(&denied, "decision"), "permission_denied");
    assert_eq!(denied["missing_scopes"], serde_json::json!(["write:x"]));
    let seen = cli.json_in(a, &["token", "introspect", "-"], &format!("{ci}\n"));
    assert_eq!(
        (seen["active"].as_bool(), str_of(&seen, "kind")),
        (Some(true), "api_key")
    );
    let rotated = cli.json(a, &["token", "rotate", &ci_id, "--overlap", "1h"]);
    let new_key = str_of(&rotated, "token").to_owned();
    assert_ne!(str_of(&rotated, "token_id"), ci_id);
    assert_eq!(
        cli.run(a, &["check", &ci, "read:x"], "").code,
        0,
        "old key within its overlap"
    );
    assert_eq!(cli.json(a, &["token", "revoke", &ci_id])["revoked"], 1);
    assert_eq!(
        cli.run(a, &["check", &ci, "read:x"], "").code,
        1,
        "revoked by id"
    );
    cli.json_in(
        a,
        &["token", "revoke", "--secret", "-"],
        &format!("{new_key}\n"),
    );
    assert_eq!(
        cli.run(a, &["check", &new_key, "read:x"], "").code,
        1,
        "revoked by secret"
    );

    // Nothing printed a credential it did not create: not the admin key or the password; a
    // secret appears once, in the answer that made it.
    let printed = cli.printed.borrow().clone();
    assert!(!printed.contains(admin), "the admin key was printed");
    assert!(!printed.contains(PASSWORD), "the password was printed");
    for secret in [&ci, &new_key] {
        assert_eq!(
            printed.matches(secret.as_str()).count(),
            1,
            "{}",
            &secret[..8]
        );
    }
    server.stop("-TERM").await;
}
