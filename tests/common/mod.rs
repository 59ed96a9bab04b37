//! Shared by the native integration tests: the real servers, started by `tests/support/stack.mjs` (Node) on
//! loopback and stopped by pid.
#![allow(dead_code)]

pub mod hosts;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The Python MCP SDK in `.venv` (scripts/setup.sh installs it; a plain `cargo test` does it here).
pub fn ensure_python() {
    let root = root();
    let python = root.join(".venv/bin/python");
    let ready = std::process::Command::new(&python)
        .args(["-c", "import mcp.server.mcpserver"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let venv = std::process::Command::new("python3").args(["-m", "venv", ".venv"]).current_dir(&root).status();
        assert!(venv.is_ok_and(|s| s.success()), "python3 -m venv failed");
        let pip = std::process::Command::new(root.join(".venv/bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "mcp==2.3.0"])
            .status();
        assert!(pip.is_ok_and(|s| s.success()), "pip install mcp==2.3.0 failed");
    }
}

/// A server started by the stack script, and how to reach it.
pub struct Stack {
    child: Child,
    urls: Value,
}

impl Stack {
    /// Starts the named servers (see `tests/support/stack.mjs`).
    pub async fn start(names: &[&str]) -> Stack {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if !root.join("node_modules/@portkey-ai/gateway").exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(root)
                .status()
                .expect("npm runs");
            assert!(status.success(), "npm ci failed");
        }
        if names.iter().any(|n| n.starts_with("python")) {
            ensure_python();
        }
        let mut child = Command::new("node")
            .arg("tests/support/stack.mjs")
            .args(names)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the servers start within a minute")
            .unwrap()
            .expect("the stack prints its URLs");
        Stack { child, urls: serde_json::from_str(&line).unwrap() }
    }

    pub fn url(&self, name: &str) -> String {
        self.urls[name].as_str().unwrap().to_owned()
    }

    pub async fn stop(mut self) {
        let pid = self.child.id().expect("running") as i32;
        // SIGTERM by pid: the stack stops each of its servers by pid, then exits.
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait()).await;
    }
}
