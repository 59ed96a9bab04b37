//! Keeping the server's secrets out of every text the client emits: its URL, origin and host in messages, and
//! its credentials (header values, a headers hook's values, environment values, the session id) everywhere.

use super::McpClient;
use super::config::Endpoint;
use crate::base::text::{contains_ignoring_ascii_case, replace_ignoring_ascii_case};
use crate::base::url::origin;
use serde_json::Value;

/// How many header values from a headers hook are remembered for redaction.
const MAX_HOOK_SECRETS: usize = 16;

impl McpClient {
    /// Header values the host added to a request (a headers hook's): redacted from every message like the
    /// configured ones. The latest few are kept.
    pub fn add_secrets(&mut self, values: impl IntoIterator<Item = String>) {
        for value in values {
            if !self.hook_secrets.contains(&value) {
                if self.hook_secrets.len() == MAX_HOOK_SECRETS {
                    self.hook_secrets.remove(0);
                }
                self.hook_secrets.push(value);
            }
        }
    }

    /// Removes everything secret about this server from `text`: its URL, origin, host, header values,
    /// credentials, environment values and session id.
    pub fn redact(&self, text: &str) -> String {
        let mut secrets = self.credentials();
        if let Endpoint::Http { url, .. } = &self.config.endpoint {
            let origin = origin(url);
            let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            secrets.extend([url.as_str(), origin, authority]);
            // The bare host name too, unless it is too common to mean anything.
            if host != "localhost" {
                secrets.push(host);
            }
        }
        replace_secrets(text, secrets)
    }

    /// Removes this server's credentials (header values, environment values, session id) from every string in
    /// `value`, a result or a notification the model or the application gets. Its address stays: results
    /// rightly name resources on their own server.
    pub(super) fn redact_credentials(&self, value: &mut Value) {
        let secrets = self.credentials();
        if secrets.is_empty() {
            return;
        }
        fn walk(value: &mut Value, secrets: &[&str]) {
            match value {
                Value::String(text) if secrets.iter().any(|s| contains_ignoring_ascii_case(text, s)) => {
                    *text = replace_secrets(text, secrets.to_vec());
                }
                Value::Array(items) => items.iter_mut().for_each(|v| walk(v, secrets)),
                Value::Object(map) => map.values_mut().for_each(|v| walk(v, secrets)),
                _ => {}
            }
        }
        walk(value, &secrets);
    }

    /// The credentials of this server: header values (and the token alone, `Bearer abc` → `abc`, in case a
    /// server repeats just that), environment values and the session id.
    pub(super) fn credentials(&self) -> Vec<&str> {
        let mut secrets: Vec<&str> = Vec::new();
        if let Endpoint::Stdio { env, .. } = &self.config.endpoint {
            secrets.extend(env.iter().map(|(_, v)| v.as_str()));
        }
        let header_values = self.config.headers.iter().map(|(_, v)| v).chain(&self.hook_secrets);
        for value in header_values {
            secrets.push(value);
            if let Some((_, credential)) = value.split_once(' ') {
                secrets.push(credential.trim());
            }
        }
        secrets.extend(self.transport.session_id());
        secrets.retain(|s| s.len() >= 4);
        secrets
    }
}

/// `text` with each secret replaced by `[redacted]`, ignoring ASCII case; longest first, so a whole URL goes
/// before its origin does. (A handful of entries: no sort needed.)
fn replace_secrets(text: &str, mut secrets: Vec<&str>) -> String {
    let mut out = text.to_owned();
    while let Some(i) = (0..secrets.len()).max_by_key(|&i| secrets[i].len()) {
        out = replace_ignoring_ascii_case(&out, secrets.swap_remove(i), "[redacted]");
    }
    out
}
