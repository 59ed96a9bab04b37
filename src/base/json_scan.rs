//! Finding one member in JSON text without reading the rest into values.
//!
//! A Responses API `Response` echoes every tool the request offered: with a large catalog that is most of the
//! body (625 KB of 640 with 303 tools), and reading it into JSON values took longer than everything else in the
//! turn. Nothing reads the echo, so it is cut from the text first: one pass over the bytes that checks the
//! grammar of what it passes, but builds nothing.

/// How many levels of arrays and objects may nest: as many as `serde_json` reads.
const MAX_DEPTH: usize = 127;

/// `text` read as JSON without the member at `path` (keys from the root object down). The result is the one
/// reading all of `text` gives, that member aside: a text that is not JSON is an error either way.
pub(crate) fn read_without(text: &[u8], path: &[&str]) -> serde_json::Result<serde_json::Value> {
    serde_json::from_slice(without_member(text, path).as_deref().unwrap_or(text))
}

/// `text` without the member at `path`, or `None` when there is no such member or the text up to its end is
/// not JSON (then `text` is read as it is, and what is wrong with it reported as before).
fn without_member(text: &[u8], path: &[&str]) -> Option<Vec<u8>> {
    let (start, end) = Scan { text, at: 0 }.member(path, 0)?;
    // The only part no JSON reader sees afterwards: its strings must be UTF-8 as well.
    std::str::from_utf8(&text[start..end]).ok()?;
    let mut out = Vec::with_capacity(text.len() - (end - start));
    out.extend_from_slice(&text[..start]);
    out.extend_from_slice(&text[end..]);
    Some(out)
}

struct Scan<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    /// The byte range to cut for the member at `path` of the object that starts here: the member and the
    /// comma that separates it from a neighbour.
    fn member(&mut self, path: &[&str], depth: usize) -> Option<(usize, usize)> {
        let (key, rest) = path.split_first()?;
        self.space();
        self.expect(b'{')?;
        let mut comma_before = None;
        loop {
            self.space();
            let start = self.at;
            let name = self.string()?;
            self.space();
            self.expect(b':')?;
            self.space();
            let found = name == key.as_bytes();
            if found && !rest.is_empty() {
                return self.member(rest, depth + 1);
            }
            self.value(depth + 1)?;
            let end = self.at;
            self.space();
            match (self.next()?, found, comma_before) {
                (b',', true, _) => return Some((start, self.at)),
                (b'}', true, Some(comma)) => return Some((comma, end)),
                (b'}', true, None) => return Some((start, end)),
                (b',', false, _) => comma_before = Some(self.at - 1),
                _ => return None,
            }
        }
    }

    /// Skips one value, checking its grammar; `depth` counts the arrays and objects around it, the root object
    /// being the first.
    fn value(&mut self, depth: usize) -> Option<()> {
        let (close, member) = match *self.text.get(self.at)? {
            b'"' => return self.string().map(drop),
            b'{' => (b'}', true),
            b'[' => (b']', false),
            _ => return self.scalar(),
        };
        if depth >= MAX_DEPTH {
            return None;
        }
        self.at += 1;
        self.space();
        if self.text.get(self.at) == Some(&close) {
            self.at += 1;
            return Some(());
        }
        loop {
            if member {
                self.string()?;
                self.space();
                self.expect(b':')?;
                self.space();
            }
            self.value(depth + 1)?;
            self.space();
            match self.next()? {
                b',' => self.space(),
                b if b == close => return Some(()),
                _ => return None,
            }
        }
    }

    /// `true`, `false`, `null` or a number.
    fn scalar(&mut self) -> Option<()> {
        let rest = &self.text[self.at..];
        if let Some(word) = [&b"true"[..], b"false", b"null"].into_iter().find(|w| rest.starts_with(w)) {
            self.at += word.len();
            return Some(());
        }
        self.eat(b'-');
        if !self.eat(b'0') {
            self.digits()?;
        }
        if self.eat(b'.') {
            self.digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            self.digits()?;
        }
        Some(())
    }

    /// One digit or more.
    fn digits(&mut self) -> Option<()> {
        let start = self.at;
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    /// A string's raw bytes, escapes checked and left as they are (a key written with escapes is not the one
    /// looked for).
    fn string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            match self.next()? {
                b'"' => return Some(&self.text[start..self.at - 1]),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            self.next().filter(u8::is_ascii_hexdigit)?;
                        }
                    }
                    _ => return None,
                },
                0..0x20 => return None,
                _ => {}
            }
        }
    }

    fn space(&mut self) {
        while self.text.get(self.at).is_some_and(|b| b" \t\r\n".contains(b)) {
            self.at += 1;
        }
    }

    fn next(&mut self) -> Option<u8> {
        let byte = *self.text.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.text.get(self.at) == Some(&byte);
        self.at += usize::from(found);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn cut(text: &str, path: &[&str]) -> Option<Value> {
        without_member(text.as_bytes(), path).map(|bytes| serde_json::from_slice(&bytes).expect("still JSON"))
    }

    #[test]
    fn the_member_goes_wherever_it_stands_and_the_rest_stays() {
        let tools = r#"[{"name":"a}]\"{[","parameters":{"x":[1,{"y":"\\\u00e9"}]}}, "s", -0.5E+3, 10, true, false, null, [], {}]"#;
        assert_eq!(
            cut(&format!(r#"{{"id":"r","tools":{tools},"output":[]}}"#), &["tools"]),
            Some(json!({"id":"r","output":[]}))
        );
        assert_eq!(cut(&format!(r#"{{"tools":{tools},"id":"r"}}"#), &["tools"]), Some(json!({"id":"r"})));
        assert_eq!(cut(&format!(r#" {{ "id" : "r" , "tools" : {tools} }} "#), &["tools"]), Some(json!({"id":"r"})));
        assert_eq!(cut(&format!(r#"{{"tools":{tools}}}"#), &["tools"]), Some(json!({})));
        let event = format!(r#"{{"type":"response.completed","response":{{"id":"r","tools":{tools},"usage":{{}}}}}}"#);
        assert_eq!(
            cut(&event, &["response", "tools"]),
            Some(json!({"type":"response.completed","response":{"id":"r","usage":{}}}))
        );
    }

    #[test]
    fn only_that_member_at_that_place_is_cut() {
        // Deeper, or inside a string, or written with escapes: not the member.
        assert_eq!(cut(r#"{"output":[{"tools":[1]}]}"#, &["tools"]), None);
        assert_eq!(cut(r#"{"id":"\"tools\":[1]"}"#, &["tools"]), None);
        assert_eq!(cut(r#"{"t\u006fols":[1]}"#, &["tools"]), None);
        assert_eq!(cut(r#"{"tools":[1]}"#, &["response", "tools"]), None);
        assert_eq!(cut(r#"[{"tools":[1]}]"#, &["tools"]), None);
    }

    #[test]
    fn cutting_never_changes_whether_a_body_reads_as_json() {
        // Every one-byte change to a response: the cut text reads as JSON exactly when the whole text does, and
        // then as the same value without the member.
        let response = br#"{"id":"r","tools":[{"type":"function","name":"a","parameters":{"type":"object","properties":{"q":{"type":["string","null"],"enum":["x\"y",null]}},"required":[]},"strict":true,"n":-1.5e-3}],"output":[{"type":"message","content":[{"text":"t\u00e9"}]}],"usage":{"n":3}}"#;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let bytes = b" \"{}[],:0123456789.eE+-tfnlu\\/xAz\xff\x01";
        for _ in 0..5_000 {
            let mut text = response.to_vec();
            let at = random() as usize % text.len();
            match random() % 3 {
                0 => text[at] = bytes[random() as usize % bytes.len()],
                1 => text.insert(at, bytes[random() as usize % bytes.len()]),
                _ => drop(text.remove(at)),
            }
            let Some(cut) = without_member(&text, &["tools"]) else { continue };
            let whole = serde_json::from_slice::<Value>(&text).ok().map(|mut v| {
                v.as_object_mut().map(|o| o.shift_remove("tools"));
                v
            });
            assert_eq!(serde_json::from_slice::<Value>(&cut).ok(), whole, "{}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn broken_text_is_left_to_the_reader() {
        for text in [
            "",
            "{",
            r#"{"id":"r","tools":[1,2"#,
            r#"{"id":"r","tools":"open"#,
            r#"{"id" "r","tools":[]}"#,
            r#"{"id":"r" "tools":[]}"#,
            r#"{"tools":[] "id":"r"}"#,
            r#"{"id":,"tools":[]}"#,
            r#"{"tools":}"#,
            r#"{"tools":[]]"#,
            // What is cut is checked too: a body that is not JSON stays an error.
            r#"{"tools":[}, "id": "r"}"#,
            r#"{"tools":xyz,"id":"r"}"#,
            r#"{"tools":{"a"},"id":1}"#,
            r#"{"tools":{"a":1,},"id":1}"#,
            r#"{"tools":[1,],"id":1}"#,
            r#"{"tools":1.2.3}"#,
            r#"{"tools":01}"#,
            r#"{"tools":-}"#,
            r#"{"tools":1e}"#,
            r#"{"tools":"\x"}"#,
            r#"{"tools":"\u12g4"}"#,
            "{\"tools\":\"a\tb\"}",
        ] {
            assert_eq!(without_member(text.as_bytes(), &["tools"]), None, "{text}");
        }
        assert_eq!(without_member(b"{\"tools\":\"\xff\",\"id\":1}", &["tools"]), None, "not UTF-8");
        let deep = |n: usize| format!(r#"{{"tools":{}1{}}}"#, "[".repeat(n), "]".repeat(n));
        assert!(without_member(deep(126).as_bytes(), &["tools"]).is_some());
        assert!(
            serde_json::from_str::<Value>(&deep(126)).is_ok() && serde_json::from_str::<Value>(&deep(127)).is_err()
        );
        assert_eq!(without_member(deep(127).as_bytes(), &["tools"]), None, "deeper than serde_json reads");
    }
}
