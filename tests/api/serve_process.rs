//! `tessera serve` as a child process, configured through the environment as in a container.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use tessera::proto::v1::token_service_client::TokenServiceClient;

pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A `tessera serve` child process whose stderr is drained by a thread the whole time, so
/// trace-level output never fills the pipe.
pub struct ServeProcess {
    /// `None` once stopped or killed.
    child: Option<Child>,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    pub log: String,
    pub addr: String,
    /// Where the OAuth endpoints and `/metrics` answer.
    pub http_addr: String,
    pub metrics_addr: String,
}

impl ServeProcess {
    /// Starts `tessera serve` with settings from the environment only, and waits (blocking on
    /// log lines, no sleep) until it reports its address.
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> ServeProcess {
        ServeProcess::start_as(Command::new(BIN), database_url, env)
    }

    fn start_as(mut command: Command, database_url: &str, env: &[(&str, &str)]) -> ServeProcess {
        let mut child = command
            .arg("serve")
            .env("TESSERA_LISTEN", "127.0.0.1:0")
            .env("TESSERA_HTTP_LISTEN", "127.0.0.1:0")
            .env("TESSERA_METRICS_LISTEN", "127.0.0.1:0")
            .env("TESSERA_DATABASE_URL", database_url)
            .env("TESSERA_LOG_FORMAT", "json")
            // The most verbose logging there is: still no secret may appear.
            .env("RUST_LOG", "trace")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start tessera serve");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = String::new();
        let (addr, http_addr, metrics_addr) = loop {
            let line = lines.recv().expect("server logs before exiting");
            log.push_str(&line);
            log.push('\n');
            if line.contains("tessera serving") {
                let v: serde_json::Value = serde_json::from_str(&line).expect("json log line");
                let field = |name: &str| {
                    v["fields"][name]
                        .as_str()
                        .unwrap_or_else(|| panic!("{name} field"))
                        .to_owned()
                };
                break (
                    field("listen"),
                    field("http_listen"),
                    field("metrics_listen"),
                );
            }
        };
        ServeProcess {
            child: Some(child),
            lines,
            reader: Some(reader),
            log,
            addr,
            http_addr,
            metrics_addr,
        }
    }

    pub async fn client(&self) -> TokenServiceClient<tonic::transport::Channel> {
        TokenServiceClient::connect(format!("http://{}", self.addr))
            .await
            .expect("connect")
    }

    /// Sends `signal`, waits for the exit off the runtime's threads (so open client
    /// connections can still answer the server's GOAWAY) and returns the whole log.
    pub async fn stop(mut self, signal: &str) -> String {
        let sent = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let mut child = self.child.take().expect("running");
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait");
        assert!(status.success(), "clean exit on {signal}: {status:?}");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        for line in self.lines.try_iter() {
            self.log.push_str(&line);
            self.log.push('\n');
        }
        assert!(self.log.contains("tessera stopped"), "{}", self.log);
        std::mem::take(&mut self.log)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }
}

// Only the Postgres binary's replica tests kill servers, and only the SQLite binary's
// floods limit a server's descriptors.
#[allow(dead_code)]
impl ServeProcess {
    /// As `start`, with at most `files` open file descriptors (`ulimit -n`).
    pub fn start_limited(database_url: &str, env: &[(&str, &str)], files: u32) -> ServeProcess {
        let mut shell = Command::new("sh");
        shell.args([
            "-c",
            &format!("ulimit -n {files} && exec \"$0\" \"$@\""),
            BIN,
        ]);
        ServeProcess::start_as(shell, database_url, env)
    }

    /// SIGKILL: no drain, no flush, as a crash or an OOM kill would end it.
    pub fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill -9");
        child.wait().expect("wait");
    }
}

/// A test that fails half-way must not leave servers running.
impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
