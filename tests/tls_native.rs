//! The native host against a TLS server whose certificate nobody trusts (`openssl s_server`, installed by the
//! setup): the connection fails at once with the certificate named, not after a deadline of retries.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

use mcp_loop::ConnectionConfig;
use mcp_loop::native::{Hooks, McpConnection};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_at_once() {
    let dir = std::env::temp_dir().join(format!("mcp-loop-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let mut server = Command::new("openssl")
        .args(["s_server", "-accept", "127.0.0.1:0", "-www"])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // "ACCEPT 127.0.0.1:PORT" once it listens.
    let lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let port = lines.map_while(Result::ok).find_map(|l| l.strip_prefix("ACCEPT 127.0.0.1:").map(str::to_owned));

    let outcome = async {
        let url = format!("https://127.0.0.1:{}/mcp", port.expect("s_server listens"));
        // The default minute for connecting: a certificate error must not wait for it.
        let config = ConnectionConfig::from_json(&json!({"name": "tls", "url": url, "protocol": "2025-11-25"}), "s");
        let mcp = McpConnection::new(config.unwrap(), Hooks::default()).unwrap();
        let error = mcp.list_tools().await.unwrap_err().to_string();
        mcp.close().await;
        error
    };
    let error = tokio::time::timeout(std::time::Duration::from_secs(50), outcome).await;
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let error = error.expect("failed before the connection deadline");
    assert!(error.contains("certificate"), "{error}");
    assert!(!error.contains("attempts failed"), "one attempt: {error}");
}
