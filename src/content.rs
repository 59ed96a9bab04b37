//! `CallToolResult` → the `output` of a `function_call_output`.
//!
//! Conversion v1: text blocks joined; every other block described in text; `structuredContent` as JSON
//! when no text says it already; an `isError` result marked as an error; long text shortened head-and-tail
//! with a marker saying how much was cut.

use serde_json::Value;

/// The default cap on one output, in characters.
pub const DEFAULT_MAX_OUTPUT_CHARS: usize = 100_000;

/// What goes back to the model for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    /// The `output` string.
    pub text: String,
    /// Whether the tool (or the way to it) failed.
    pub is_error: bool,
}

impl ToolOutput {
    /// An error the model should see: the call did not reach the tool, or the tool could not run.
    pub fn error(message: &str) -> ToolOutput {
        ToolOutput { text: format!("Error: {message}"), is_error: true }
    }
}

/// Converts a `CallToolResult` (verbatim JSON from the server).
pub fn to_output(result: &Value, max_chars: usize) -> ToolOutput {
    let is_error = result.get("isError").and_then(Value::as_bool).unwrap_or(false);
    let blocks = result.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut parts: Vec<String> = blocks.iter().map(describe_block).collect();
    let has_text = blocks.iter().any(|b| b.get("type").and_then(Value::as_str) == Some("text"));
    if let Some(structured) = result.get("structuredContent").filter(|s| !s.is_null()) {
        if !has_text {
            parts.push(structured.to_string());
        }
    }
    let mut text = parts.join("\n");
    if text.is_empty() {
        text = if is_error {
            "the tool reported an error without details".into()
        } else {
            "(the tool returned no content)".into()
        };
    }
    let text = shorten(&text, max_chars);
    if is_error { ToolOutput { text: format!("Error: {text}"), is_error } } else { ToolOutput { text, is_error } }
}

fn describe_block(block: &Value) -> String {
    let field = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or("");
    let size = |data: &str| data.len() / 4 * 3;
    match field("type") {
        "text" => field("text").to_owned(),
        "image" => format!("[image {}, {} bytes]", field("mimeType"), size(field("data"))),
        "audio" => format!("[audio {}, {} bytes]", field("mimeType"), size(field("data"))),
        "resource_link" => {
            let mut line = format!("[resource link] {} <{}>", field("name"), field("uri"));
            if !field("description").is_empty() {
                line.push_str(&format!(": {}", field("description")));
            }
            line
        }
        "resource" => {
            let resource = block.get("resource").unwrap_or(&Value::Null);
            let inner = |key: &str| resource.get(key).and_then(Value::as_str);
            let uri = inner("uri").unwrap_or("");
            match (inner("text"), inner("blob")) {
                (Some(text), _) => format!("[resource <{uri}>]\n{text}"),
                (None, Some(blob)) => {
                    format!("[resource <{uri}> {}, {} bytes]", inner("mimeType").unwrap_or(""), size(blob))
                }
                (None, None) => format!("[resource <{uri}>]"),
            }
        }
        "" => "[content block without a type]".to_owned(),
        other => format!("[{other} content]"),
    }
}

/// Keeps the head and the tail of `text` within `max` characters, with a marker in between.
pub fn shorten(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let marker_room = 64.min(max);
    let keep = max - marker_room;
    let head = keep / 2 + keep % 2;
    let tail = keep / 2;
    let cut = total - head - tail;
    let head_end = text.char_indices().nth(head).map_or(text.len(), |(i, _)| i);
    let tail_start = text.char_indices().nth(total - tail).map_or(text.len(), |(i, _)| i);
    format!("{}\n[… {cut} characters cut …]\n{}", &text[..head_end], &text[tail_start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn joins_text_and_describes_the_rest() {
        let out = to_output(
            &json!({"content":[
                {"type":"text","text":"one"},
                {"type":"image","data":"AAAA","mimeType":"image/png"},
                {"type":"resource_link","uri":"file:///a","name":"a","description":"the a"},
                {"type":"resource","resource":{"uri":"file:///b","text":"bee"}},
                {"type":"resource","resource":{"uri":"file:///c","blob":"AAAAAAAA","mimeType":"application/pdf"}},
                {"type":"audio","data":"","mimeType":"audio/wav"},
                {"type":"hologram"}
            ]}),
            1000,
        );
        assert_eq!(
            out.text,
            "one\n[image image/png, 3 bytes]\n[resource link] a <file:///a>: the a\n[resource <file:///b>]\nbee\n[resource <file:///c> application/pdf, 6 bytes]\n[audio audio/wav, 0 bytes]\n[hologram content]"
        );
        assert!(!out.is_error);
    }

    #[test]
    fn marks_errors() {
        let out = to_output(&json!({"content":[{"type":"text","text":"bad date"}],"isError":true}), 1000);
        assert_eq!(out, ToolOutput { text: "Error: bad date".into(), is_error: true });
        assert_eq!(to_output(&json!({"isError":true}), 1000).text, "Error: the tool reported an error without details");
    }

    #[test]
    fn structured_content_only_when_no_text_repeats_it() {
        assert_eq!(to_output(&json!({"content":[],"structuredContent":{"t":22}}), 1000).text, r#"{"t":22}"#);
        assert_eq!(
            to_output(&json!({"content":[{"type":"text","text":"{\"t\":22}"}],"structuredContent":{"t":22}}), 1000)
                .text,
            r#"{"t":22}"#
        );
        assert_eq!(to_output(&json!({}), 1000).text, "(the tool returned no content)");
    }

    #[test]
    fn shortens_head_and_tail() {
        let text = "é".repeat(500) + &"z".repeat(500);
        let out = shorten(&text, 200);
        assert!(out.chars().count() <= 200 + 40, "{}", out.chars().count());
        assert!(out.starts_with("éé") && out.ends_with("zz"));
        assert!(out.contains("[… 864 characters cut …]"), "{out}");
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("abcdef", 3), "\n[… 6 characters cut …]\n", "a tiny cap keeps only the marker");
    }
}
