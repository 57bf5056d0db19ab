//! The CLI's app registry and signing-key commands, its help and completion, and how it fails
//! when it cannot do what it was asked: exit codes a script can branch on, one error line.

use serde_json::Value;

use crate::cli::{Cli, str_of};
use crate::serve_process::ServeProcess;

/// The client commands and, recursively, their subcommands (from each level's own help).
fn command_paths(cli: &Cli, prefix: &[String]) -> Vec<Vec<String>> {
    let mut args: Vec<&str> = prefix.iter().map(String::as_str).collect();
    args.push("--help");
    let help = cli.run(None, &args, "");
    assert_eq!(help.code, 0, "{args:?}: {}", help.stderr);
    let mut paths = Vec::new();
    let mut in_commands = false;
    for line in help.stdout.lines() {
        if line == "Commands:" {
            in_commands = true;
            continue;
        }
        if in_commands {
            let Some(name) = line
                .strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next())
            else {
                break;
            };
            if name == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(name.to_owned());
            paths.push(path.clone());
            paths.extend(command_paths(cli, &path));
        }
    }
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_command_has_help_with_an_example_and_completion_scripts_load() {
    let cli = Cli::new("127.0.0.1:1");
    let server_side = ["serve", "migrate", "bootstrap", "bench", "bench-seed"];
    let paths: Vec<Vec<String>> = command_paths(&cli, &[])
        .into_iter()
        .filter(|p| !server_side.contains(&p[0].as_str()))
        .collect();
    let root = cli.run(None, &["--help"], "");
    assert!(
        root.stdout.contains("Example:\n  tessera "),
        "{}",
        root.stdout
    );
    // The list, every one present.
    for wanted in [
        "role create",
        "role get",
        "role list",
        "role set",
        "role delete",
        "user create",
        "user get",
        "user list",
        "user set-roles",
        "user disable",
        "user enable",
        "user set-password",
        "token issue api-key",
        "token issue pat",
        "token list",
        "token revoke",
        "token rotate",
        "token introspect",
        "check",
        "client create",
        "client list",
        "client update",
        "client rotate-secret",
        "client delete",
        "key rotate",
        "audit list",
        "login",
        "logout",
        "completion",
    ] {
        assert!(
            paths.iter().any(|p| p.join(" ") == wanted),
            "no `tessera {wanted}`"
        );
    }
    for path in &paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = cli.run(None, &args, "");
        let example = help.stdout.split_once("Example:\n").map(|(_, e)| e);
        let invocation = format!("tessera {}", path.join(" "));
        assert!(
            example.is_some_and(|e| e.contains(&invocation)),
            "{path:?} has no example of `{invocation}`:\n{}",
            help.stdout
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = cli.run(None, &["completion", shell], "");
        assert_eq!(script.code, 0);
        assert!(
            script.stdout.contains("rotate-secret"),
            "{shell} completes subcommands"
        );
    }
    // bash itself parses the script and registers the completion.
    let bash = cli.run(None, &["completion", "bash"], "");
    let script = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(script.path(), &bash.stdout).expect("write");
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p tessera",
            script.path().display()
        ))
        .output()
        .expect("bash");
    assert!(loaded.status.success(), "{loaded:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_keys_and_failures_from_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("apps.db").display());
    let server = ServeProcess::start(&url, &[("RUST_LOG", "info")]);
    let admin = std::fs::read_to_string(dir.path().join("apps.db.admin-key")).expect("key");
    let admin = admin.trim();
    let cli = Cli::new(&server.addr);
    let a = Some(admin);

    let created = cli.run(
        a,
        &[
            "client",
            "create",
            "Acme CRM",
            "--type",
            "confidential",
            "--redirect-uri",
            "https://crm.example/cb",
            "--scope",
            "read:contacts",
            "-o",
            "json",
        ],
        "",
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(created.stderr.contains("not shown again"));
    let created: Value = serde_json::from_str(&created.stdout).expect("json");
    let id = str_of(&created, "client_id").to_owned();
    let first_secret = str_of(&created, "client_secret").to_owned();
    assert_eq!(str_of(&created, "type"), "confidential");
    let listed = cli.json(a, &["client", "list"]);
    let row = &listed.as_array().expect("list")[0];
    assert_eq!(row["client_id"], id.as_str());
    assert!(
        row.get("client_secret").is_none(),
        "a listing holds no secret"
    );
    let updated = cli.json(
        a,
        &[
            "client",
            "update",
            &id,
            "--name",
            "Acme",
            "--scope",
            "read:contacts",
            "--scope",
            "read:deals",
        ],
    );
    assert_eq!(
        (
            str_of(&updated, "name"),
            updated["scopes"].as_array().map(Vec::len)
        ),
        ("Acme", Some(2))
    );
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["https://crm.example/cb"]),
        "unchanged"
    );
    assert_eq!(
        str_of(&cli.json(a, &["client", "get", &id]), "name"),
        "Acme"
    );
    assert_eq!(cli.json(a, &["client", "disable", &id])["disabled"], true);
    assert_eq!(cli.json(a, &["client", "enable", &id])["disabled"], false);
    let rotated = cli.json(a, &["client", "rotate-secret", &id]);
    let second_secret = str_of(&rotated, "client_secret").to_owned();
    assert_ne!(second_secret, first_secret);
    let deleted = cli.json(a, &["client", "delete", &id]);
    assert_eq!(
        (str_of(&deleted, "deleted"), deleted["revoked"].as_u64()),
        (id.as_str(), Some(0))
    );
    cli.fails(a, &["client", "get", &id], 3, "NOT_FOUND");
    cli.fails(a, &["client", "update", &id], 2, "nothing to change");
    let kid = cli.json(a, &["key", "rotate"]);
    assert!(!str_of(&kid, "kid").is_empty());
    // The trail of what this test changed, newest first, filtered by action and time.
    let rotations = cli.json(
        a,
        &[
            "audit",
            "list",
            "--action",
            "signing_key.rotate",
            "--since",
            "1h",
        ],
    );
    let rotations = rotations.as_array().expect("a list");
    assert_eq!(rotations.len(), 1, "{rotations:?}");
    assert_eq!(
        str_of(&rotations[0], "target"),
        format!("signing_key:{}", str_of(&kid, "kid"))
    );
    let newest = cli.json(a, &["audit", "list", "--limit", "2"]);
    let actions: Vec<&str> = newest
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| str_of(e, "action"))
        .collect();
    assert_eq!(actions, ["signing_key.rotate", "client.delete"]);

    // Failures: the server's (3, with its gRPC code), local ones (4), usage (2: clap's, and
    // arguments that do not go together).
    cli.fails(
        Some("tsk_not_a_key"),
        &["role", "list"],
        3,
        "UNAUTHENTICATED",
    );
    cli.fails(None, &["role", "list"], 4, "no credential");
    let usage = cli.run(a, &["role", "create"], "");
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    let nowhere = Cli::new("127.0.0.1:1");
    nowhere.fails(a, &["role", "list"], 4, "cannot reach http://127.0.0.1:1");
    let mut to_other = Cli::new(&server.addr);
    to_other.server = format!("ftp://{}", server.addr);
    to_other.fails(a, &["role", "list"], 2, "--server");
    // https:// to a plaintext listener: the handshake fails, nothing is sent in the clear.
    to_other.server = format!("https://{}", server.addr);
    to_other.fails(a, &["role", "list"], 4, "cannot reach https://");

    let printed = cli.printed.borrow().clone();
    assert!(!printed.contains(admin), "the admin key was printed");
    for secret in [&first_secret, &second_secret] {
        assert_eq!(
            printed.matches(secret.as_str()).count(),
            1,
            "a secret printed again"
        );
    }
    server.stop("-TERM").await;
}
