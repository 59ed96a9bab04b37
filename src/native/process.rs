//! Server processes: started with piped stdio and only the environment they are given, their output and exit
//! fed back, and always reaped.

use super::host::Input;
use crate::base::io::EffectId;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// How long the output of a server that exited may still drain (a helper it started may hold its pipes).
const EXIT_DRAIN: Duration = Duration::from_millis(500);

/// What the core may ask of a running server process besides its stdin.
#[derive(Debug, Clone, Copy)]
pub(super) enum Signal {
    Terminate,
    Kill,
}

/// A running server process: lines sent on `stdin` go to it, dropping `stdin` closes it; `signals` reach it.
pub(super) struct Process {
    pub(super) stdin: Option<mpsc::UnboundedSender<String>>,
    pub(super) signals: mpsc::UnboundedSender<Signal>,
}

/// Starts a server process with piped stdio. Its output and its end come back as inputs. It is always reaped;
/// when it ends is the core's to say (stdin closed, then TERM, then KILL).
pub(super) fn spawn_process(
    id: EffectId,
    command: &str,
    args: &[String],
    inherit: &[String],
    env: &[(String, String)],
    cwd: Option<&str>,
    inputs: mpsc::UnboundedSender<Input>,
) -> std::io::Result<Process> {
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
    let (signals, mut signalled) = mpsc::unbounded_channel::<Signal>();
    let stdout = tokio::spawn(pump(stdout, inputs.clone(), move |bytes| Input::Stdout(id, bytes)));
    let stderr = tokio::spawn(pump(stderr, inputs.clone(), move |bytes| Input::Stderr(id, bytes)));
    // Writes lines until the host drops the channel (close), then closes stdin.
    tokio::spawn(async move {
        while let Some(line) = to_write.recv().await {
            if stdin.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    // Reports the exit as soon as it happens, signalling the process as the core says meanwhile. Always reaps.
    tokio::spawn(async move {
        let status = loop {
            tokio::select! {
                status = child.wait() => break status,
                Some(signal) = signalled.recv() => send(&mut child, signal),
            }
        };
        // The last output comes before the exit (a final answer must not be lost), unless a grandchild keeps
        // the pipes open: then not for long.
        let _ = tokio::time::timeout(EXIT_DRAIN, async {
            let _ = stdout.await;
            let _ = stderr.await;
        })
        .await;
        let reason = match status {
            Ok(status) => match (status.code(), killed_by(&status)) {
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(signal)) => format!("was killed by {signal}"),
                (None, None) => "was killed by a signal".to_owned(),
            },
            Err(e) => format!("could not be waited for: {e}"),
        };
        let _ = inputs.send(Input::Exit(id, reason));
    });
    Ok(Process { stdin: Some(lines), signals })
}

/// TERM where there are signals (elsewhere the process is ended at once), or KILL.
fn send(child: &mut tokio::process::Child, signal: Signal) {
    #[cfg(unix)]
    if let (Signal::Terminate, Some(pid)) = (signal, child.id().and_then(|pid| i32::try_from(pid).ok())) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        return;
    }
    let _ = signal;
    let _ = child.start_kill();
}

/// The signal that ended the process, by name (`SIGTERM`).
#[cfg(unix)]
fn killed_by(status: &std::process::ExitStatus) -> Option<&'static str> {
    use std::os::unix::process::ExitStatusExt;
    nix::sys::signal::Signal::try_from(status.signal()?).ok().map(|s| s.as_str())
}

#[cfg(not(unix))]
fn killed_by(_: &std::process::ExitStatus) -> Option<&'static str> {
    None
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
