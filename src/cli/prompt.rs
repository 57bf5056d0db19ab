//! Secrets the CLI asks for: typed at the terminal without echo, or, with `--password-stdin`,
//! read one per line from standard input (for scripts; never from a flag, which `ps` shows).

use std::io::BufRead;

use super::error::{CliError, CliResult};

/// Where the secrets of one command come from.
pub struct Secrets {
    stdin: bool,
}

impl Secrets {
    pub fn new(from_stdin: bool) -> Secrets {
        Secrets { stdin: from_stdin }
    }

    /// A secret; from the terminal, echo off.
    pub fn ask(&mut self, prompt: &str) -> CliResult<String> {
        if self.stdin {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(CliError::io("reading standard input"))?;
            return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
        }
        rpassword::prompt_password(prompt).map_err(CliError::io(
            "reading from the terminal (without one, use --password-stdin)",
        ))
    }

    /// A new password, typed twice at a terminal (once from standard input).
    pub fn new_password(&mut self) -> CliResult<String> {
        let first = self.ask("New password: ")?;
        if !self.stdin && self.ask("Again: ")? != first {
            return Err(CliError::Usage("the two passwords differ".into()));
        }
        if first.is_empty() {
            return Err(CliError::Usage("empty password".into()));
        }
        Ok(first)
    }
}

/// A token argument: `-` reads it from standard input, so it never shows in `ps`.
pub fn token_arg(arg: String) -> CliResult<String> {
    if arg != "-" {
        return Ok(arg);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::io("reading standard input"))?;
    Ok(line.trim().to_owned())
}
