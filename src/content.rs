//! `CallToolResult` → the `output` of a `function_call_output`.
//!
//! Text becomes `input_text`, images `input_image` (a data URL), documents `input_file`; embedded text
//! resources and resource links become text naming their URI; `structuredContent` goes as its JSON, without the
//! text block that merely repeats it; an `isError` result says it is an error. All text collapses to a plain
//! string. Text over the cap keeps its head and tail with a marker saying how much was cut; media are never
//! cut. Whatever the API would refuse (and one refused part fails the whole request) is described in text
//! instead: audio (no part of a function call output takes it), file types outside the API's list, images that
//! are not PNG, JPEG, GIF or WebP by their own bytes, broken base64, sizes over the API's limits.

use crate::base::json::{self, object};
use serde_json::{Value, json};

/// The most parts one output has (after neighbouring text is joined); the rest are left out, and it says so.
pub(crate) const MAX_PARTS: usize = 100;

/// The default cap on one output's text, in characters.
pub const DEFAULT_MAX_OUTPUT_CHARS: usize = 100_000;
/// What the Responses API takes at most in one image URL and one file's data.
const MAX_IMAGE_URL: usize = 20_971_520;
const MAX_FILE_DATA: usize = 73_400_320;
/// The document types the API takes as `input_file`, with the file extension for each.
const FILE_TYPES: &[(&str, &str)] = &[
    ("application/pdf", "pdf"),
    ("text/plain", "txt"),
    ("text/markdown", "md"),
    ("text/csv", "csv"),
    ("text/html", "html"),
    ("application/json", "json"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
];

/// What goes back to the model for one call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The `output`: a string when it is all text, else a list of `input_text` / `input_image` /
    /// `input_file` parts.
    pub output: Value,
    /// Whether the tool (or the way to it) failed.
    pub is_error: bool,
}

impl ToolOutput {
    /// An error the model should see: the call did not reach the tool, or the tool could not run.
    pub fn error(message: &str) -> ToolOutput {
        ToolOutput { output: Value::String(format!("Error: {message}")), is_error: true }
    }
}

enum Part {
    Text(String),
    Media(Value),
}

/// Converts a `CallToolResult` (verbatim JSON from the server).
pub fn to_output(result: &Value, max_chars: usize) -> ToolOutput {
    let is_error = result.get("isError").and_then(Value::as_bool).unwrap_or(false);
    let blocks = result.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let structured = result.get("structuredContent").filter(|s| !s.is_null());
    let repeats = |block: &Value| {
        let text = block.get("text").and_then(Value::as_str).filter(|_| block.get("type") == Some(&json!("text")));
        match (text, structured) {
            (Some(text), Some(s)) => serde_json::from_slice::<Value>(text.as_bytes()).is_ok_and(|v| &v == s),
            _ => false,
        }
    };
    let mut parts: Vec<Part> = Vec::new();
    let mut structured_at = None;
    for block in blocks {
        if repeats(block) {
            structured_at.get_or_insert(parts.len());
        } else {
            parts.push(part(block));
        }
    }
    if let Some(s) = structured {
        parts.insert(structured_at.unwrap_or(parts.len()), Part::Text(json::text(s)));
    }
    if parts.is_empty() {
        let empty =
            if is_error { "the tool reported an error without details" } else { "(the tool returned no content)" };
        parts.push(Part::Text(empty.into()));
    }
    if is_error {
        match parts.first_mut() {
            Some(Part::Text(text)) => *text = format!("Error: {text}"),
            _ => parts.insert(0, Part::Text("Error:".into())),
        }
    }
    ToolOutput { output: assemble(parts, max_chars), is_error }
}

/// Joins neighbouring text, keeps at most [`MAX_PARTS`] parts, shortens text over the cap (each text part in
/// proportion to its length), and gives a plain string when nothing but text is left.
fn assemble(parts: Vec<Part>, max_chars: usize) -> Value {
    let mut joined: Vec<Part> = Vec::new();
    for p in parts {
        match (joined.last_mut(), p) {
            (Some(Part::Text(prev)), Part::Text(text)) => {
                prev.push('\n');
                prev.push_str(&text);
            }
            (_, p) => joined.push(p),
        }
    }
    if joined.len() > MAX_PARTS {
        // Text and media interleaved thousands of times would pass the text cap part by part.
        let left_out = joined.len() - (MAX_PARTS - 1);
        joined.truncate(MAX_PARTS - 1);
        joined.push(Part::Text(format!("[{left_out} more content parts left out]")));
    }
    let total: usize = joined.iter().map(|p| if let Part::Text(t) = p { t.chars().count() } else { 0 }).sum();
    let mut items: Vec<Value> = joined
        .into_iter()
        .map(|p| match p {
            Part::Text(text) if total > max_chars => {
                let share = (max_chars as u128 * text.chars().count() as u128 / total as u128) as usize;
                object([("type", "input_text".into()), ("text", shorten(&text, share.max(64)).into())])
            }
            Part::Text(text) => object([("type", "input_text".into()), ("text", text.into())]),
            Part::Media(media) => media,
        })
        .collect();
    match items.as_mut_slice() {
        // All text: the plain string, taken out rather than copied (it may be the whole output cap).
        [Value::Object(only)] if only["type"] == "input_text" => only.remove("text").unwrap_or_default(),
        _ => Value::Array(items),
    }
}

fn part(block: &Value) -> Part {
    let field = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or("");
    match field("type") {
        "text" => Part::Text(field("text").to_owned()),
        "image" => image(field("mimeType"), field("data"), "image"),
        "audio" => Part::Text(format!(
            "[audio: {}, {} bytes, which a tool output cannot carry to the model]",
            field("mimeType"),
            bytes(field("data"))
        )),
        "resource_link" => {
            let mut line = format!("[resource link] {} <{}>", field("name"), field("uri"));
            for (key, fmt) in [("description", ": "), ("mimeType", " ")] {
                if !field(key).is_empty() {
                    line.push_str(fmt);
                    line.push_str(field(key));
                }
            }
            Part::Text(line)
        }
        "resource" => {
            let resource = block.get("resource").unwrap_or(&Value::Null);
            let inner = |key: &str| resource.get(key).and_then(Value::as_str);
            let uri = inner("uri").unwrap_or("");
            let mime = inner("mimeType").unwrap_or("application/octet-stream");
            match (inner("text"), inner("blob")) {
                (Some(text), _) => Part::Text(format!("[resource <{uri}>]\n{text}")),
                (None, Some(blob)) if mime.starts_with("image/") => image(mime, blob, uri),
                (None, Some(blob)) => file(mime, blob, uri),
                (None, None) => Part::Text(format!("[resource <{uri}>]")),
            }
        }
        "" => Part::Text("[content block without a type]".into()),
        other => Part::Text(format!("[{other} content]")),
    }
}

/// An image goes by what its bytes say it is (a label can be wrong, and the API refuses other types).
fn image(label: &str, data: &str, what: &str) -> Part {
    let problem = match sniff(data) {
        _ if !base64_ok(data) => "not valid base64 data",
        None => "not a PNG, JPEG, GIF or WebP image, which is all the model can see",
        Some(_) if data.len() + 32 > MAX_IMAGE_URL => "more than the API takes",
        Some(mime) => {
            let url = format!("data:{mime};base64,{data}");
            return Part::Media(object([("type", "input_image".into()), ("image_url", url.into())]));
        }
    };
    Part::Text(format!("[{what}: {label}, {} bytes, {problem}]", bytes(data)))
}

fn file(label: &str, data: &str, uri: &str) -> Part {
    let mime = label.trim().to_ascii_lowercase();
    let last = uri.split(['?', '#']).next().unwrap_or("").rsplit('/').next().filter(|n| !n.is_empty());
    let problem = match FILE_TYPES.iter().find(|(t, _)| *t == mime) {
        _ if !base64_ok(data) => "not valid base64 data",
        None => "a file type the model cannot take",
        Some(_) if data.len() + mime.len() + 13 > MAX_FILE_DATA => "more than the API takes",
        Some((_, extension)) => {
            let filename = match last {
                Some(name) if name.contains('.') => name.to_owned(),
                Some(name) => format!("{name}.{extension}"),
                None => format!("file.{extension}"),
            };
            let file_data = format!("data:{mime};base64,{data}");
            return Part::Media(object([
                ("type", "input_file".into()),
                ("filename", filename.into()),
                ("file_data", file_data.into()),
            ]));
        }
    };
    Part::Text(format!("[{}: {label}, {} bytes, {problem}]", last.unwrap_or("file"), bytes(data)))
}

/// Standard base64: the alphabet, a length in whole quads, and padding only at the end.
fn base64_ok(data: &str) -> bool {
    let body = data.trim_end_matches('=');
    !data.is_empty()
        && data.len() % 4 == 0
        && data.len() - body.len() <= 2
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The image type its first bytes say (PNG, JPEG, GIF, WebP).
fn sniff(data: &str) -> Option<&'static str> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut head = Vec::with_capacity(12);
    for quad in data.as_bytes().get(..16)?.chunks(4) {
        let n = quad.iter().try_fold(0u32, |n, &c| Some(n << 6 | u32::from(value(c)?)))?;
        head.extend_from_slice(&n.to_be_bytes()[1..]);
    }
    match head.as_slice() {
        [0x89, b'P', b'N', b'G', ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P'] => Some("image/webp"),
        _ => None,
    }
}

fn bytes(data: &str) -> usize {
    data.len() / 4 * 3
}

/// Keeps the head and the tail of `text` within about `max` characters, with a marker in between.
pub(crate) fn shorten(text: &str, max: usize) -> String {
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
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A 1×1 PNG.
    const PNG: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    #[test]
    fn every_content_type_has_its_part() {
        let out = to_output(
            &json!({"content":[
                {"type":"text","text":"one"},
                {"type":"image","data":PNG,"mimeType":"image/jpg"},
                {"type":"resource_link","uri":"file:///a.md","name":"a","description":"the a","mimeType":"text/markdown"},
                {"type":"resource","resource":{"uri":"file:///b","text":"bee"}},
                {"type":"resource","resource":{"uri":"https://x/docs/c.pdf?v=2#p1","blob":"AAAA","mimeType":"Application/PDF"}},
                {"type":"resource","resource":{"uri":"file:///d","blob":PNG,"mimeType":"image/png"}},
                {"type":"resource","resource":{"uri":"file:///notes","blob":"AAAA","mimeType":"text/plain"}},
                {"type":"hologram"}
            ]}),
            1000,
        );
        assert_eq!(
            out.output,
            json!([
                {"type":"input_text","text":"one"},
                {"type":"input_image","image_url":format!("data:image/png;base64,{PNG}")},
                {"type":"input_text","text":"[resource link] a <file:///a.md>: the a text/markdown\n[resource <file:///b>]\nbee"},
                {"type":"input_file","filename":"c.pdf","file_data":"data:application/pdf;base64,AAAA"},
                {"type":"input_image","image_url":format!("data:image/png;base64,{PNG}")},
                {"type":"input_file","filename":"notes.txt","file_data":"data:text/plain;base64,AAAA"},
                {"type":"input_text","text":"[hologram content]"}
            ])
        );
        assert!(!out.is_error);
    }

    #[test]
    fn all_text_is_one_string() {
        let out = to_output(&json!({"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}), 1000);
        assert_eq!(out.output, json!("a\nb"));
        assert_eq!(to_output(&json!({}), 1000).output, json!("(the tool returned no content)"));
    }

    #[test]
    fn what_the_api_would_refuse_is_described() {
        let out = to_output(
            &json!({"content":[
                {"type":"image","data":"PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=","mimeType":"image/png"},
                {"type":"image","data":"iVBORw0KGgo","mimeType":"image/png"},
                {"type":"audio","data":"AAAA","mimeType":"audio/wav"},
                {"type":"resource","resource":{"uri":"file:///x.bin","blob":"AAAA","mimeType":"application/octet-stream"}}
            ]}),
            1000,
        );
        assert_eq!(
            out.output,
            json!(
                "[image: image/png, 42 bytes, not a PNG, JPEG, GIF or WebP image, which is all the model can see]\n[image: image/png, 6 bytes, not valid base64 data]\n[audio: audio/wav, 3 bytes, which a tool output cannot carry to the model]\n[x.bin: application/octet-stream, 3 bytes, a file type the model cannot take]"
            )
        );
    }

    #[test]
    fn marks_errors() {
        let out = to_output(&json!({"content":[{"type":"text","text":"bad date"}],"isError":true}), 1000);
        assert_eq!(out, ToolOutput { output: json!("Error: bad date"), is_error: true });
        assert_eq!(
            to_output(&json!({"isError":true}), 1000).output,
            json!("Error: the tool reported an error without details")
        );
        let image_only =
            to_output(&json!({"content":[{"type":"image","data":PNG,"mimeType":"image/png"}],"isError":true}), 1000);
        assert_eq!(image_only.output[0], json!({"type":"input_text","text":"Error:"}));
    }

    #[test]
    fn structured_content_replaces_the_text_that_repeats_it() {
        let repeated = json!({"content":[{"type":"text","text":"{\"t\": 22, \"u\": \"C\"}"},{"type":"text","text":"Sunny."}],"structuredContent":{"u":"C","t":22}});
        assert_eq!(to_output(&repeated, 1000).output, json!("{\"u\":\"C\",\"t\":22}\nSunny."));
        let alone = json!({"content":[],"structuredContent":{"t":22}});
        assert_eq!(to_output(&alone, 1000).output, json!("{\"t\":22}"));
        let different = json!({"content":[{"type":"text","text":"22 degrees"}],"structuredContent":{"t":22}});
        assert_eq!(to_output(&different, 1000).output, json!("22 degrees\n{\"t\":22}"));
    }

    #[test]
    fn long_text_is_shortened_and_media_are_not() {
        let long = "x".repeat(5000);
        let out = to_output(
            &json!({"content":[{"type":"text","text":long},{"type":"image","data":PNG,"mimeType":"image/png"}]}),
            1000,
        );
        let text = out.output[0]["text"].as_str().unwrap();
        assert!(text.chars().count() <= 1000 && text.contains("characters cut"), "{}", text.len());
        assert_eq!(out.output[1]["image_url"], format!("data:image/png;base64,{PNG}"));
    }

    #[test]
    fn text_and_media_interleaved_thousands_of_times_stay_bounded() {
        let blocks: Vec<Value> = (0..5000)
            .flat_map(|i| {
                [
                    json!({"type":"text","text": format!("part {i}")}),
                    json!({"type":"image","data":PNG,"mimeType":"image/png"}),
                ]
            })
            .collect();
        let out = to_output(&json!({ "content": blocks }), 1000).output;
        let parts = out.as_array().unwrap();
        assert_eq!(parts.len(), MAX_PARTS);
        assert_eq!(parts[MAX_PARTS - 1]["text"], "[9901 more content parts left out]");
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
