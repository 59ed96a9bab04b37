//! `WWW-Authenticate: Bearer …` (RFC 6750 §3, RFC 9728 §5.1): what a 401 or 403 from an MCP server asks for.
//! Read leniently (any order, quoted or token values, other schemes skipped), never trusted for more than
//! where to look next and which scope to ask for.

/// The Bearer challenge of a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// Where the server's Protected Resource Metadata is (`resource_metadata`).
    pub resource_metadata: Option<String>,
    /// The scope the request needs (`scope`, space-separated).
    pub scope: Option<String>,
    /// `invalid_token`, `insufficient_scope`, …
    pub error: Option<String>,
}

impl Challenge {
    /// The Bearer challenge among the header's values (a header may hold several challenges, and a response
    /// several headers); `None` when no value names the Bearer scheme.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
        values.into_iter().find_map(bearer)
    }
}

/// The Bearer challenge of one header value.
fn bearer(value: &str) -> Option<Challenge> {
    let mut rest = value.trim_start();
    loop {
        let (scheme, after) = token(rest);
        if scheme.is_empty() {
            return None;
        }
        let (params, next) = params(after);
        if scheme.eq_ignore_ascii_case("bearer") {
            let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
            return Some(Challenge {
                resource_metadata: get("resource_metadata"),
                scope: get("scope"),
                error: get("error"),
            });
        }
        rest = next;
    }
}

/// The auth-params after a scheme, up to the next challenge's scheme: `(name, value)` pairs and the rest.
fn params(mut rest: &str) -> (Vec<(String, String)>, &str) {
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let (name, after) = token(rest);
        let after_name = after.trim_start();
        let Some(after_eq) = after_name.strip_prefix('=').filter(|_| !name.is_empty()) else {
            // Not `name=`: the next challenge's scheme (or the end).
            return (out, rest);
        };
        let after_eq = after_eq.trim_start();
        let (value, next) = match after_eq.strip_prefix('"') {
            Some(quoted) => quoted_string(quoted),
            None => {
                let (value, next) = token(after_eq);
                (value.to_owned(), next)
            }
        };
        out.push((name.to_ascii_lowercase(), value));
        rest = next;
    }
}

/// A token (RFC 9110 `tchar`s, plus `/` and `=`-free base64 characters a token68 uses) and what follows it.
fn token(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| c.is_whitespace() || matches!(c, ',' | '=' | '"')).unwrap_or(text.len());
    text.split_at(end)
}

/// The content of a quoted string whose opening quote is already read, with `\` escapes undone, and the rest.
fn quoted_string(text: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &text[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            }
            c => out.push(c),
        }
    }
    (out, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn reads_the_bearer_challenge_among_others() {
        let value = r#"Basic realm="x", Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp""#;
        let challenge = Challenge::parse([value]).unwrap();
        assert_eq!(challenge.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(challenge.scope.as_deref(), Some("files:read files:write"));
        assert_eq!(
            challenge.resource_metadata.as_deref(),
            Some("https://a.example/.well-known/oauth-protected-resource/mcp")
        );
    }

    #[test]
    fn tokens_escapes_case_and_absence() {
        let challenge = Challenge::parse([r#"bearer Scope=read, error=invalid_token, realm="a \"b\"""#]).unwrap();
        assert_eq!((challenge.scope.as_deref(), challenge.error.as_deref()), (Some("read"), Some("invalid_token")));
        assert_eq!(Challenge::parse(["Bearer"]), Some(Challenge::default()));
        assert_eq!(Challenge::parse(["Basic realm=\"x\"", "Bearer scope=\"a\""]).unwrap().scope.as_deref(), Some("a"));
        assert_eq!(Challenge::parse(["Basic realm=\"x\""]), None);
        assert_eq!(Challenge::parse([""]), None);
        // Broken input is read as far as it goes, never a panic.
        assert_eq!(Challenge::parse([r#"Bearer scope="unterminated"#]).unwrap().scope.as_deref(), Some("unterminated"));
        assert!(Challenge::parse(["=,=\"\\"]).is_none());
    }
}
