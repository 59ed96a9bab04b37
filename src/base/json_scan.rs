//! Finding one member in JSON text without reading the rest into values.
//!
//! A Responses API `Response` echoes every tool the request offered: with a large catalog that is most of the
//! body (625 KB of 640 with 303 tools), and reading it into JSON values took longer than everything else in the
//! turn. Nothing reads the echo, so it is cut from the text first, which costs one pass over the bytes.

/// `text` without the member at `path` (keys from the root object down), or `None` when there is no such
/// member or the text is not well-formed JSON around it (the caller then reads `text` as it is, and reports
/// what is wrong with it). What lies inside the member cut is not checked: nothing reads it.
pub(crate) fn without_member(text: &[u8], path: &[&str]) -> Option<Vec<u8>> {
    let (start, end) = Scan { text, at: 0 }.member(path)?;
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
    fn member(&mut self, path: &[&str]) -> Option<(usize, usize)> {
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
            if name == key.as_bytes() {
                if !rest.is_empty() {
                    return self.member(rest);
                }
                self.value()?;
                let end = self.at;
                self.space();
                return match (self.next()?, comma_before) {
                    (b',', _) => Some((start, self.at)),
                    (b'}', Some(comma)) => Some((comma, end)),
                    (b'}', None) => Some((start, end)),
                    _ => None,
                };
            }
            self.value()?;
            self.space();
            match self.next()? {
                b',' => comma_before = Some(self.at - 1),
                _ => return None,
            }
        }
    }

    /// Skips one value: strings and brackets are followed, scalars run to the next delimiter.
    fn value(&mut self) -> Option<()> {
        match *self.text.get(self.at)? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.next()? {
                        b'"' => {
                            self.at -= 1;
                            self.string()?;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                let start = self.at;
                while self.text.get(self.at).is_some_and(|b| !b",}] \t\r\n".contains(b)) {
                    self.at += 1;
                }
                (self.at > start).then_some(())
            }
        }
    }

    /// A string's raw bytes (escapes left as they are: a key written with escapes is not the one looked for).
    fn string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            match self.next()? {
                b'"' => return Some(&self.text[start..self.at - 1]),
                b'\\' => {
                    self.next()?;
                }
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
        let tools = r#"[{"name":"a}]\"{[","parameters":{"x":[1,{"y":"\\"}]}}, "s", 1.5e3, true, null]"#;
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
        ] {
            assert_eq!(without_member(text.as_bytes(), &["tools"]), None, "{text}");
        }
    }
}
