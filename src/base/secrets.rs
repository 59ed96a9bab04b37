//! Secret strings and the forms they travel in (as given, URL-encoded, base64), found without regard to ASCII
//! case and replaced in one pass over a text. A filter on each pattern's first four bytes keeps the pass cheap
//! on a megabyte result: most positions cost one table lookup.

use crate::base::text::base64;
use serde_json::Value;
use std::borrow::Cow;

/// Shorter values are not worth their false matches (`1`, `yes`); every pattern is at least this long.
const MIN_LEN: usize = 4;
/// A base64 run cut out of a longer text is only trusted from this length (shorter ones occur by chance).
const MIN_BASE64_RUN: usize = 8;
const FILTER_BITS: usize = 4096;
const REDACTED: &str = "[redacted]";

/// A set of secrets and, apart, addresses (redacted from messages, kept in data).
#[derive(Debug, Clone, Default)]
pub(crate) struct Secrets {
    /// Lowercase patterns, sorted by their first four bytes.
    patterns: Vec<Pattern>,
    /// One bit per hashed first four bytes of a pattern.
    filter: Vec<u64>,
    /// Whether any pattern is a secret (not only an address): without one, data has nothing to redact.
    secrets: bool,
}

#[derive(Debug, Clone)]
struct Pattern {
    head: u32,
    bytes: Box<[u8]>,
    address: bool,
}

impl Secrets {
    /// Adds a credential in every form it may travel in: as given, URL-encoded, and base64 (standard and
    /// URL-safe; alone, or as the characters it gives inside a longer encoded text at any alignment).
    pub(crate) fn add_credential(&mut self, value: &str) {
        if value.len() < MIN_LEN {
            return;
        }
        self.insert(value.as_bytes(), false);
        let encoded = percent_encode(value);
        self.insert(encoded.as_bytes(), false);
        self.insert(encoded.replace("%20", "+").as_bytes(), false);
        let bytes = value.as_bytes();
        let mut runs = vec![base64(bytes)];
        for shift in 0..3 {
            // Behind `shift` other bytes, only the groups of three bytes that are all the secret's encode the same
            // whatever surrounds them.
            let mut shifted = vec![0; shift];
            shifted.extend_from_slice(bytes);
            let (first, end) = (shift.div_ceil(3), shifted.len() / 3);
            if (end.saturating_sub(first)) * 4 >= MIN_BASE64_RUN {
                runs.push(base64(&shifted)[first * 4..end * 4].to_owned());
            }
        }
        for run in runs {
            let url_safe = run.replace('+', "-").replace('/', "_");
            for form in [run.as_str(), run.trim_end_matches('='), &url_safe, url_safe.trim_end_matches('=')] {
                self.insert(form.as_bytes(), false);
            }
        }
    }

    /// Adds an address (a URL, an origin, a host): redacted from messages only.
    pub(crate) fn add_address(&mut self, value: &str) {
        if value.len() >= MIN_LEN {
            self.insert(value.as_bytes(), true);
        }
    }

    fn insert(&mut self, bytes: &[u8], address: bool) {
        let bytes: Box<[u8]> = bytes.to_ascii_lowercase().into();
        self.secrets |= !address;
        if let Some(known) = self.patterns.iter_mut().find(|p| p.bytes == bytes) {
            known.address &= address;
            return;
        }
        let head = head(&bytes);
        if self.filter.is_empty() {
            self.filter = vec![0; FILTER_BITS / 64];
        }
        let bit = slot(head);
        self.filter[bit / 64] |= 1 << (bit % 64);
        let at = self.patterns.partition_point(|p| p.head < head);
        self.patterns.insert(at, Pattern { head, bytes, address });
    }

    /// `text` with every secret (and, with `addresses`, every address) replaced by `[redacted]`: the leftmost
    /// match first, the longest of those that start there.
    pub(crate) fn redact<'a>(&self, text: &'a str, addresses: bool) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        if self.patterns.is_empty() || !(addresses || self.secrets) || bytes.len() < MIN_LEN {
            return Cow::Borrowed(text);
        }
        let mut out: Option<String> = None;
        let (mut i, mut copied) = (0, 0);
        // The four bytes at `i`, rolled on one byte at a time (most positions cost one table lookup).
        let mut window = head(bytes);
        while i + MIN_LEN <= bytes.len() {
            let bit = slot(window);
            let matched = if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
                None
            } else {
                self.longest_at(&bytes[i..], window, addresses)
            };
            let Some(len) = matched else {
                i += 1;
                if let Some(next) = bytes.get(i + MIN_LEN - 1) {
                    window = (window >> 8) | (u32::from(next.to_ascii_lowercase()) << 24);
                }
                continue;
            };
            // Patterns are whole UTF-8 text compared byte for byte (ASCII letters aside), so a match starts and
            // ends on character boundaries.
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..i]);
            out.push_str(REDACTED);
            i += len;
            copied = i;
            if i + MIN_LEN <= bytes.len() {
                window = head(&bytes[i..]);
            }
        }
        match out {
            None => Cow::Borrowed(text),
            Some(mut out) => {
                out.push_str(&text[copied..]);
                Cow::Owned(out)
            }
        }
    }

    fn longest_at(&self, text: &[u8], head: u32, addresses: bool) -> Option<usize> {
        let from = self.patterns.partition_point(|p| p.head < head);
        self.patterns[from..]
            .iter()
            .take_while(|p| p.head == head)
            .filter(|p| (addresses || !p.address) && text.len() >= p.bytes.len())
            .filter(|p| text[..p.bytes.len()].eq_ignore_ascii_case(&p.bytes))
            .map(|p| p.bytes.len())
            .max()
    }

    /// Redacts the secrets (not the addresses) from every string in `value`, object keys included.
    pub(crate) fn redact_value(&self, value: &mut Value) {
        if !self.secrets {
            return;
        }
        match value {
            Value::String(text) => {
                if let Cow::Owned(redacted) = self.redact(text, false) {
                    *text = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            Value::Object(map) => {
                if map.keys().any(|k| matches!(self.redact(k, false), Cow::Owned(_))) {
                    *map = std::mem::take(map).into_iter().map(|(k, v)| (self.redact(&k, false).into(), v)).collect();
                }
                map.values_mut().for_each(|v| self.redact_value(v));
            }
            _ => {}
        }
    }

    /// [`Secrets::redact_value`] on an optional string.
    pub(crate) fn redact_string(&self, text: &mut Option<String>) {
        if let Some(Cow::Owned(redacted)) = text.as_deref().map(|t| self.redact(t, false)) {
            *text = Some(redacted);
        }
    }
}

/// The first four bytes, lowercase (callers guarantee there are four).
fn head(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([0, 1, 2, 3].map(|i| bytes[i].to_ascii_lowercase()))
}

fn slot(head: u32) -> usize {
    (head.wrapping_mul(0x9E37_79B1) >> 20) as usize % FILTER_BITS
}

/// Every byte but the unreserved ones (RFC 3986) as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::text::base64;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn secrets(credentials: &[&str], addresses: &[&str]) -> Secrets {
        let mut s = Secrets::default();
        credentials.iter().for_each(|c| s.add_credential(c));
        addresses.iter().for_each(|a| s.add_address(a));
        s
    }

    #[test]
    fn finds_a_secret_in_every_form_it_travels_in() {
        let token = "Tok3n/with+odd chars=";
        let s = secrets(&[token], &[]);
        let forms = [
            token.to_owned(),
            token.to_ascii_uppercase(),
            "Tok3n%2Fwith%2Bodd%20chars%3D".into(),
            "tok3n%2fwith%2bodd+chars%3d".into(),
            base64(token.as_bytes()),
            base64(token.as_bytes()).replace('+', "-").replace('/', "_").trim_end_matches('=').to_owned(),
        ];
        for form in forms {
            let text = format!("before {form} after");
            assert_eq!(s.redact(&text, false), "before [redacted] after", "{form}");
            assert_eq!(s.redact(&form, false), "[redacted]", "{form}, whole");
        }
        // Inside a longer encoded text, at each alignment: what is left around the cut is not the secret.
        for prefix in ["", "u", "us", "user:"] {
            let blob = base64(format!("{prefix}{token}:more").as_bytes());
            let redacted = s.redact(&blob, false);
            assert!(redacted.contains(REDACTED), "{prefix:?}: {blob} -> {redacted}");
        }
    }

    #[test]
    fn the_leftmost_then_longest_match_wins_and_addresses_only_go_from_messages() {
        let s =
            secrets(&["abcd1234"], &["http://intra.example:8080/mcp", "http://intra.example:8080", "intra.example"]);
        let text = "GET http://intra.example:8080/mcp?k=abcd1234 failed; intra.example said ABCD1234";
        assert_eq!(s.redact(text, true), "GET [redacted]?k=[redacted] failed; [redacted] said [redacted]");
        assert_eq!(
            s.redact(text, false),
            "GET http://intra.example:8080/mcp?k=[redacted] failed; intra.example said [redacted]"
        );
        assert!(matches!(s.redact("nothing here", true), Cow::Borrowed(_)), "no copy when nothing matches");
    }

    #[test]
    fn values_are_redacted_everywhere_but_text_that_is_not_a_secret_stays() {
        let s = secrets(&["s3cr3t-v4lue", "ab"], &[]);
        let mut value = json!({"description": "uses s3cr3t-v4lue", "s3cr3t-v4lue": {"default": ["S3CR3T-V4LUE", 1]},
            "short": "ab", "text": "héllo wörld ✓"});
        s.redact_value(&mut value);
        assert_eq!(
            value,
            json!({"description": "uses [redacted]", "[redacted]": {"default": ["[redacted]", 1]},
                "short": "ab", "text": "héllo wörld ✓"})
        );
        // Multi-byte text around and inside a secret keeps its characters whole.
        let s = secrets(&["clé-secrète"], &[]);
        assert_eq!(s.redact("→clé-secrète←", false), "→[redacted]←");
    }

    #[test]
    fn a_megabyte_without_secrets_comes_back_as_it_was() {
        let s = secrets(&["tokentokentoken", "another-secret-1"], &["http://a.example"]);
        let blob = base64(&(0..750_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect::<Vec<_>>());
        assert!(matches!(s.redact(&blob, true), Cow::Borrowed(_)));
    }

    #[test]
    fn matches_at_every_position_adjacent_and_at_the_end_are_found() {
        let s = secrets(&["Secret9"], &["http://host.example"]);
        for at in 0..12 {
            for after in ["", "x", "xyz", "Secret9", "SECRET9tail"] {
                let filler = "ab-cd_ef gh ";
                let text = format!("{}secret9{after}", &filler[..at]);
                let want = format!(
                    "{}[redacted]{}",
                    &filler[..at],
                    after.replace("Secret9", "[redacted]").replace("SECRET9", "[redacted]")
                );
                assert_eq!(s.redact(&text, false), want, "{text:?}");
            }
        }
        // Addresses stay in data: without a secret there is nothing to look for there.
        let only_address = secrets(&[], &["http://host.example"]);
        let mut value = json!({"url": "http://host.example/x"});
        only_address.redact_value(&mut value);
        assert_eq!(value, json!({"url": "http://host.example/x"}));
        assert_eq!(only_address.redact("see http://host.example/x", true), "see [redacted]/x");
    }
}
