//! `CallToolResult` → the `output` of a `function_call_output`.
//!
//! Text becomes `input_text`, images `input_image` (a data URL), audio and binary resources `input_file`;
//! embedded text resources and resource links become text naming their URI; `structuredContent` goes as its
//! JSON, without the text block that merely repeats it; an `isError` result says it is an error. All text
//! collapses to a plain string. Text over the cap keeps its head and tail with a marker saying how much was
//! cut; media are never cut (media the API would refuse are described in text instead).

use serde_json::{Value, json};

/// The default cap on one output's text, in characters.
pub const DEFAULT_MAX_OUTPUT_CHARS: usize = 100_000;
/// What the Responses API takes at most in one image URL and one file's data.
const MAX_IMAGE_URL: usize = 20_971_520;
const MAX_FILE_DATA: usize = 73_400_320;
/// The image types the API takes.
const IMAGE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

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
        parts.insert(structured_at.unwrap_or(parts.len()), Part::Text(crate::json::text(s)));
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

/// Joins neighbouring text, shortens text over the cap (each text part in proportion to its length), and
/// gives a plain string when nothing but text is left.
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
    let total: usize = joined.iter().map(|p| if let Part::Text(t) = p { t.chars().count() } else { 0 }).sum();
    let items: Vec<Value> = joined
        .into_iter()
        .map(|p| match p {
            Part::Text(text) if total > max_chars => {
                let share = (max_chars as u128 * text.chars().count() as u128 / total as u128) as usize;
                json!({"type": "input_text", "text": shorten(&text, share.max(64))})
            }
            Part::Text(text) => json!({"type": "input_text", "text": text}),
            Part::Media(media) => media,
        })
        .collect();
    match items.as_slice() {
        [only] if only["type"] == "input_text" => only["text"].clone(),
        _ => Value::Array(items),
    }
}

fn part(block: &Value) -> Part {
    let field = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or("");
    match field("type") {
        "text" => Part::Text(field("text").to_owned()),
        "image" => image(field("mimeType"), field("data"), "image"),
        "audio" => file(field("mimeType"), field("data"), "audio"),
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

fn image(mime: &str, data: &str, what: &str) -> Part {
    let url = format!("data:{mime};base64,{data}");
    match refusal(mime, data, url.len(), MAX_IMAGE_URL) {
        None if IMAGE_TYPES.contains(&mime) => Part::Media(json!({"type": "input_image", "image_url": url})),
        None => Part::Text(format!("[{what}: {mime}, {} bytes, a type the model cannot see]", bytes(data))),
        Some(why) => Part::Text(format!("[{what}: {mime}, {} bytes, {why}]", bytes(data))),
    }
}

fn file(mime: &str, data: &str, source: &str) -> Part {
    let name = source.rsplit('/').next().filter(|n| !n.is_empty() && n.contains('.'));
    let filename = match name {
        Some(name) => name.to_owned(),
        None => {
            format!("{}.{}", source.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("file"), extension(mime))
        }
    };
    let url = format!("data:{mime};base64,{data}");
    match refusal(mime, data, url.len(), MAX_FILE_DATA) {
        None => Part::Media(json!({"type": "input_file", "filename": filename, "file_data": url})),
        Some(why) => Part::Text(format!("[{filename}: {mime}, {} bytes, {why}]", bytes(data))),
    }
}

/// Why media cannot go to the model as they are, if they cannot.
fn refusal(mime: &str, data: &str, len: usize, max: usize) -> Option<&'static str> {
    let base64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=';
    if data.is_empty() || !data.bytes().all(base64) {
        Some("not valid base64 data")
    } else if mime.is_empty() || mime.contains(|c: char| c == ';' || c == ',' || c.is_whitespace()) {
        Some("without a usable media type")
    } else if len > max {
        Some("more than the API takes")
    } else {
        None
    }
}

fn extension(mime: &str) -> &str {
    let subtype = mime.split('/').nth(1).unwrap_or("bin");
    match subtype {
        "mpeg" => "mp3",
        "x-wav" | "wave" => "wav",
        "octet-stream" => "bin",
        other => other.split(['+', '.']).next().unwrap_or("bin"),
    }
}

fn bytes(data: &str) -> usize {
    data.len() / 4 * 3
}

/// Keeps the head and the tail of `text` within about `max` characters, with a marker in between.
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
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const PNG: &str = "iVBORw0KGgo=";

    #[test]
    fn every_content_type_has_its_part() {
        let out = to_output(
            &json!({"content":[
                {"type":"text","text":"one"},
                {"type":"image","data":PNG,"mimeType":"image/png"},
                {"type":"resource_link","uri":"file:///a.md","name":"a","description":"the a","mimeType":"text/markdown"},
                {"type":"resource","resource":{"uri":"file:///b","text":"bee"}},
                {"type":"resource","resource":{"uri":"file:///docs/c.pdf","blob":"AAAA","mimeType":"application/pdf"}},
                {"type":"resource","resource":{"uri":"file:///d","blob":PNG,"mimeType":"image/png"}},
                {"type":"audio","data":"AAAA","mimeType":"audio/wav"},
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
                {"type":"input_file","filename":"audio.wav","file_data":"data:audio/wav;base64,AAAA"},
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
    fn media_the_api_would_refuse_are_described() {
        let out = to_output(
            &json!({"content":[
                {"type":"image","data":"PHN2Zz4=","mimeType":"image/svg+xml"},
                {"type":"image","data":"not base64!","mimeType":"image/png"},
                {"type":"audio","data":"AAAA","mimeType":""}
            ]}),
            1000,
        );
        assert_eq!(
            out.output,
            json!(
                "[image: image/svg+xml, 6 bytes, a type the model cannot see]\n[image: image/png, 6 bytes, not valid base64 data]\n[audio.bin: , 3 bytes, without a usable media type]"
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
