//! Server processes: started with piped stdio and only the environment they are given, their output and exit
//! fed back, and always reaped.

use super::host::Input;
use crate::base::io::EffectId;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// How long a stdio server gets to exit after its stdin closes, before it is killed.
pub(super) const STDIO_GRACE: Duration = Duration::from_secs(2);

/// Starts a server process with piped stdio. Its output and its end come back as inputs; lines sent on the
/// returned channel go to its stdin, and dropping the channel closes stdin, after which the process gets
/// [`STDIO_GRACE`] to exit before it is killed. It is always reaped.
pub(super) fn spawn_process(
    id: EffectId,
    command: &str,
    args: &[String],
    inherit: &[String],
    env: &[(String, String)],
    cwd: Option<&str>,
    inputs: mpsc::UnboundedSender<Input>,
) -> std::io::Result<mpsc::UnboundedSender<String>> {
    let mut cmd = tokio::process::Command::new(command);
    cmd.args(args)
        .env_clear()
        // Variable names are case-blind on Windows (`Path`, `SystemRoot`).
        .envs(
            std::env::vars()
                .filter(|(k, _)| inherit.iter().any(|i| i == k || (cfg!(windows) && i.eq_ignore_ascii_case(k)))),
        )
        .envs(env.iter().cloned())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd.spawn()?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(std::io::Error::other("the process has no pipes"));
    };
    let (lines, mut to_write) = mpsc::unbounded_channel::<String>();
    let (closed, mut closing) = oneshot::channel::<()>();
    let stdout = tokio::spawn(pump(stdout, inputs.clone(), move |bytes| Input::Stdout(id, bytes)));
    let stderr = tokio::spawn(pump(stderr, inputs.clone(), move |bytes| Input::Stderr(id, bytes)));
    // Writes lines until the host drops the channel (close), then closes stdin.
    tokio::spawn(async move {
        while let Some(line) = to_write.recv().await {
            if stdin.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
        drop(stdin);
        let _ = closed.send(());
    });
    // Reports the exit as soon as it happens; after a close, waits the grace period, then kills. Always reaps.
    tokio::spawn(async move {
        let status = tokio::select! {
            status = child.wait() => status,
            _ = &mut closing => match tokio::time::timeout(STDIO_GRACE, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            },
        };
        // The last output comes before the exit (a final answer must not be lost), unless a grandchild keeps
        // the pipes open: then not for long.
        let _ = tokio::time::timeout(STDIO_GRACE, async {
            let _ = stdout.await;
            let _ = stderr.await;
        })
        .await;
        let reason = match status {
            Ok(status) => match status.code() {
                Some(code) => format!("exited with code {code}"),
                None => "was killed by a signal".to_owned(),
            },
            Err(e) => format!("could not be waited for: {e}"),
        };
        let _ = inputs.send(Input::Exit(id, reason));
    });
    Ok(lines)
}

pub(super) async fn pump(
    mut from: impl AsyncRead + Unpin,
    inputs: mpsc::UnboundedSender<Input>,
    wrap: impl Fn(Vec<u8>) -> Input,
) {
    let mut buffer = vec![0u8; 64 << 10];
    while let Ok(n) = from.read(&mut buffer).await {
        if n == 0 || inputs.send(wrap(buffer[..n].to_vec())).is_err() {
            break;
        }
    }
}
