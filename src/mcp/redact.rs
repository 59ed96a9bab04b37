//! Keeping the server's secrets out of everything the client emits: every event leaves through
//! [`McpClient::next_event`], which takes them out. Secrets are header values (configured or from a headers
//! hook), every session id the connection had, token-like parts of the URL, `env` values, stdio arguments that
//! carry a secret, and the values the application lists in `secrets`, each also URL-encoded and in base64.
//! Messages (errors, warnings) also lose the server's URL, origin and host; data keeps them, since results
//! rightly name resources on their own server.

use super::config::{ConnectionConfig, Endpoint};
use super::{McpClient, McpEvent};
use crate::base::secrets::Secrets;
use crate::base::url::{origin, percent_decode};
use serde_json::Value;

/// How many secrets learned while running (hook values, session ids) are remembered, the latest ones.
const MAX_REMEMBERED: usize = 64;

impl McpClient {
    /// Header values the host added to a request (a headers hook's): secrets like the configured ones.
    pub fn add_secrets(&mut self, values: impl IntoIterator<Item = String>) {
        for value in values {
            self.remember(&value);
            if let Some((_, credential)) = value.split_once(' ') {
                self.remember(credential.trim());
            }
        }
    }

    /// A secret learned while running (a hook's value, a session id).
    pub(super) fn remember(&mut self, value: &str) {
        if value.len() < 4 || self.remembered.iter().any(|v| v == value) {
            return;
        }
        if self.remembered.len() == MAX_REMEMBERED {
            self.remembered.remove(0);
            self.secrets = configured_secrets(&self.config);
            self.remembered.iter().for_each(|v| self.secrets.add_credential(v));
        }
        self.secrets.add_credential(value);
        self.remembered.push(value.to_owned());
    }

    /// Remembers the transport's session id once it has one.
    pub(super) fn remember_session(&mut self) {
        if let Some(id) = self.transport.session_id()
            && !self.remembered.iter().any(|v| v == id)
        {
            let id = id.to_owned();
            self.remember(&id);
        }
    }

    /// `text` without the server's secrets and address, for messages.
    pub(super) fn redact(&self, text: &str) -> String {
        self.secrets.redact(text, true).into_owned()
    }

    /// The next event, without the server's secrets: names of tools aside (a call needs them as they are).
    pub(super) fn next_event(&mut self) -> Option<McpEvent> {
        let event = self.events.pop_front()?;
        let s = &self.secrets;
        Some(match event {
            McpEvent::Connected(mut info) => {
                s.redact_string(&mut info.name);
                s.redact_string(&mut info.version);
                s.redact_string(&mut info.instructions);
                s.redact_value(&mut info.capabilities);
                McpEvent::Connected(info)
            }
            McpEvent::Tools { op, mut tools, mut verbatim, ttl_ms } => {
                for tool in &mut tools {
                    s.redact_string(&mut tool.title);
                    s.redact_string(&mut tool.description);
                    tool.input_schema.iter_mut().chain(&mut tool.annotations).for_each(|v| s.redact_value(v));
                }
                for entry in &mut verbatim {
                    match entry {
                        Value::Object(fields) => {
                            fields.iter_mut().filter(|(k, _)| *k != "name").for_each(|(_, v)| s.redact_value(v))
                        }
                        other => s.redact_value(other),
                    }
                }
                McpEvent::Tools { op, tools, verbatim, ttl_ms }
            }
            McpEvent::ToolResult { op, mut result } => {
                s.redact_value(&mut result);
                McpEvent::ToolResult { op, result }
            }
            McpEvent::Failed { op, error } => McpEvent::Failed { op, error: self.redact(&error) },
            // For the owner's authorization, which needs it whole; never passed on to the application.
            McpEvent::AuthChallenge { .. } => event,
            McpEvent::Progress { op, progress, total, mut message } => {
                s.redact_string(&mut message);
                McpEvent::Progress { op, progress, total, message }
            }
            McpEvent::Log { level, mut logger, mut data } => {
                s.redact_string(&mut logger);
                s.redact_value(&mut data);
                McpEvent::Log { level, logger, data }
            }
            McpEvent::InputRequest { id, op, method, mut params } => {
                s.redact_value(&mut params);
                McpEvent::InputRequest { id, op, method, params }
            }
            McpEvent::Warning(message) => McpEvent::Warning(self.redact(&message)),
            McpEvent::Notification { method, mut params } => {
                params.iter_mut().for_each(|p| s.redact_value(p));
                McpEvent::Notification { method, params }
            }
            McpEvent::ToolsChanged => McpEvent::ToolsChanged,
        })
    }
}

/// The secrets the configuration names, and the server's address.
pub(super) fn configured_secrets(config: &ConnectionConfig) -> Secrets {
    let mut secrets = Secrets::default();
    let mut credential = |value: &str| {
        secrets.add_credential(value);
        if value.contains('%') {
            secrets.add_credential(&percent_decode(value));
        }
    };
    for (_, value) in &config.headers {
        credential(value);
        // The token alone too (`Bearer abc` → `abc`), in case a server repeats just that.
        if let Some((_, token)) = value.split_once(' ') {
            credential(token.trim());
        }
    }
    config.secrets.iter().for_each(|v| credential(v));
    match &config.endpoint {
        Endpoint::Http { url, .. } => {
            url_secrets(url).into_iter().for_each(&mut credential);
            let origin = origin(url);
            let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
            let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            [url.as_str(), origin, authority].into_iter().for_each(|a| secrets.add_address(a));
            // The bare host name too, unless it is too common to mean anything.
            if host != "localhost" {
                secrets.add_address(host);
            }
        }
        Endpoint::Stdio { args, env, .. } => {
            env.iter().for_each(|(_, v)| credential(v));
            arg_secrets(args).into_iter().for_each(&mut credential);
        }
    }
    secrets
}

/// The parts of a URL that are credentials: userinfo, token-like path segments, and query values that look
/// like tokens or whose names say they are secret (`?api_key=…`).
fn url_secrets(url: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        found.push(userinfo);
        found.extend(userinfo.split_once(':').map(|(user, password)| [user, password]).into_iter().flatten());
    }
    found.extend(path.split('/').filter(|s| looks_like_token(s)));
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or(("", pair));
        if names_a_secret(name) || looks_like_token(value) {
            found.push(value);
        }
    }
    found
}

/// Stdio arguments that carry a secret, by convention: the value of a flag or an assignment whose name says it
/// is secret (`--token=…`, `--api-key …`, `API_KEY=…`).
fn arg_secrets(args: &[String]) -> Vec<&str> {
    let mut found = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let flag = arg.trim_start_matches('-');
        match flag.split_once('=') {
            Some((name, value)) if names_a_secret(name) => found.push(value),
            None if flag.len() < arg.len() && names_a_secret(flag) => {
                found.extend(args.get(i + 1).filter(|next| !next.starts_with('-')).map(String::as_str))
            }
            _ => {}
        }
    }
    found
}

/// Whether a parameter, flag or variable name says its value is secret.
fn names_a_secret(name: &str) -> bool {
    const PARTS: &[&str] =
        &["token", "secret", "passw", "apikey", "credential", "auth", "session", "signature", "jwt", "bearer"];
    const WORDS: &[&str] = &["key", "sig", "pwd", "pass", "code", "pat"];
    let name = name.to_ascii_lowercase();
    PARTS.iter().any(|p| name.contains(p))
        || name.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| WORDS.contains(&w))
}

/// Long, mixed letters and digits, and nothing but token characters: an API key or a signature, not a word.
fn looks_like_token(text: &str) -> bool {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "-._~+/=%".contains(c);
    text.len() >= 12
        && text.chars().all(token_char)
        && text.chars().any(|c| c.is_ascii_digit())
        && text.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn credentials_in_a_url_are_found_and_plain_parts_are_not() {
        let url = "https://bob:hunter22@intra.example:8443/v1/mcp/k9Xq2LmP4zR7tW/?api_key=QSECRET&region=eu&sig=ab12&x=Zz9aB8cD7eF6";
        assert_eq!(
            url_secrets(url),
            ["bob:hunter22", "bob", "hunter22", "k9Xq2LmP4zR7tW", "QSECRET", "ab12", "Zz9aB8cD7eF6"]
        );
        assert!(url_secrets("http://127.0.0.1:8080/mcp").is_empty());
    }

    #[test]
    fn secret_arguments_follow_the_documented_convention() {
        let args: Vec<String> = [
            "-y",
            "server@1.2",
            "--token=T1",
            "--api-key",
            "K2",
            "--verbose",
            "GITHUB_TOKEN=G3",
            "--keyboard",
            "us",
            "--auth",
        ]
        .map(String::from)
        .into();
        assert_eq!(arg_secrets(&args), ["T1", "K2", "G3"]);
    }
}
