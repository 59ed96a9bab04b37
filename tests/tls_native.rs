//! The native host against a TLS server with a certificate from a private CA (`openssl s_server`, openssl
//! installed by the setup): without the CA the connection fails at once with the certificate named, not after a
//! deadline of retries; with it (`Hooks::tls`) the TLS handshake passes.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

use mcp_loop::ConnectionConfig;
use mcp_loop::native::{Hooks, McpConnection, TlsOptions};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn openssl(dir: &Path, args: &str) {
    let status = Command::new("openssl").args(args.split_whitespace()).current_dir(dir).stderr(Stdio::null()).status();
    assert!(status.unwrap().success(), "openssl {args}");
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`.
fn private_ca(dir: &Path) {
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(dir, &format!("req -x509 {ec} -keyout ca.key -out ca.pem -subj /CN=TestCA -days 2"));
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1").unwrap();
    openssl(dir, &format!("req {ec} -keyout server.key -out server.csr -subj /CN=server"));
    openssl(
        dir,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext",
    );
}

/// What listing the tools of the server at `port` ends with (it is no MCP server: the listing fails somehow).
async fn listing_error(port: &str, tls: Option<TlsOptions>) -> String {
    let url = format!("https://127.0.0.1:{port}/mcp");
    // Without the CA, the default minute for connecting: a certificate error must not wait for it. With it,
    // s_server never answers a POST: two seconds.
    let timeout = if tls.is_some() { json!(2000) } else { json!(null) };
    let config = json!({"name": "tls", "url": url, "protocol": "2025-11-25", "timeoutMs": timeout});
    let config = ConnectionConfig::from_json(&config, "s");
    let hooks = Hooks { tls: tls.into_iter().map(|t| ("tls".to_owned(), t)).collect(), ..Hooks::default() };
    let mcp = McpConnection::new(config.unwrap(), hooks).unwrap();
    let listing = tokio::time::timeout(std::time::Duration::from_secs(50), mcp.list_tools()).await;
    mcp.close().await;
    listing.expect("over before the connection deadline").unwrap_err().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_fails_at_once_without_it_and_is_trusted_with_it() {
    let dir = std::env::temp_dir().join(format!("mcp-loop-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    private_ca(&dir);
    let mut server = Command::new("openssl")
        .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-cert", "server.pem", "-key", "server.key"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // "ACCEPT 127.0.0.1:PORT" once it listens.
    let lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let port = lines.map_while(Result::ok).find_map(|l| l.strip_prefix("ACCEPT 127.0.0.1:").map(str::to_owned));
    let port = port.expect("s_server listens");

    let untrusted = listing_error(&port, None).await;
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let trusted = listing_error(&port, Some(TlsOptions { ca, identity: None })).await;
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(untrusted.contains("certificate"), "{untrusted}");
    assert!(!untrusted.contains("attempts failed"), "one attempt: {untrusted}");
    assert!(!trusted.contains("certificate"), "past the TLS handshake: {trusted}");
}
