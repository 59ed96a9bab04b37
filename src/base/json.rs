//! Reading configuration objects from JSON by hand. Typed serde deserialisation would be shorter to write
//! but costs tens of kilobytes of WebAssembly (a visitor per type plus serde's error formatting); these few
//! non-generic helpers cost almost nothing and give messages that name the exact field.

use serde_json::{Map, Value};

/// The compact JSON text of `value`, as `value.to_string()` gives it, without `Display`: that one carries the
/// pretty printer too (for `{:#}`), which nothing here uses. Outputs for hosts are written with it directly,
/// never built as a JSON value first (which would copy what they carry once more).
pub(crate) fn text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// A JSON object of these members, moved in: `json!` would copy each value (it serialises what it is given),
/// which matters for tool lists, tool outputs and media.
pub(crate) fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(members.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

/// An object being read, with its path for messages (`servers[1]`).
pub(crate) struct Fields<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// `value` must be an object.
    pub(crate) fn new(value: &'a Value, path: &str) -> Result<Fields<'a>, String> {
        match value {
            Value::Object(map) => Ok(Fields { path: path.to_owned(), map }),
            _ => Err(format!("{path} must be an object")),
        }
    }

    /// Where the object is, as messages name it (`servers[0]`).
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    fn name(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    /// Refuses keys outside `known`, so a misspelt option is an error rather than silently ignored.
    pub(crate) fn only(&self, known: &[&str]) -> Result<(), String> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(key) => Err(format!("unknown option {} (known: {})", self.name(key), known.join(", "))),
            None => Ok(()),
        }
    }

    /// The raw value; `null` counts as absent.
    pub(crate) fn value(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, String> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{} must be a string", self.name(key))),
        }
    }

    pub(crate) fn number(&self, key: &str) -> Result<Option<u64>, String> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| format!("{} must be a non-negative integer", self.name(key))),
        }
    }

    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>, String> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(format!("{} must be true or false", self.name(key))),
        }
    }

    /// A non-negative integer that fits in 32 bits (a count or a limit).
    pub(crate) fn count(&self, key: &str) -> Result<Option<u32>, String> {
        match self.number(key)? {
            None => Ok(None),
            Some(n) => u32::try_from(n).map(Some).map_err(|_| format!("{} is too large", self.name(key))),
        }
    }

    /// One of a few named values: `options` pairs each name with its value.
    pub(crate) fn choice<T: Copy>(&self, key: &str, options: &[(&str, T)]) -> Result<Option<T>, String> {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        Ok(self.pick(key, &names)?.map(|i| options[i].1))
    }

    /// The position of the name at `key` among `names` (not generic: one copy in the wasm).
    fn pick(&self, key: &str, names: &[&str]) -> Result<Option<usize>, String> {
        let Some(name) = self.string(key)? else { return Ok(None) };
        if let Some(i) = names.iter().position(|n| *n == name) {
            return Ok(Some(i));
        }
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        Err(format!("{} must be {} or {last}, not '{name}'", self.name(key), rest.join(", ")))
    }

    pub(crate) fn array(&self, key: &str) -> Result<&'a [Value], String> {
        match self.value(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(format!("{} must be an array", self.name(key))),
        }
    }

    /// An array of strings (empty when absent).
    pub(crate) fn strings(&self, key: &str) -> Result<Vec<String>, String> {
        let items = self.array(key)?.iter().map(|v| v.as_str().map(str::to_owned));
        items.collect::<Option<_>>().ok_or_else(|| format!("{} must be strings", self.name(key)))
    }

    /// Headers as an object `{name: value}` or as pairs `[[name, value], …]`.
    pub(crate) fn headers(&self, key: &str) -> Result<Vec<(String, String)>, String> {
        let bad = || format!("{} must be an object of strings or an array of [name, value] pairs", self.name(key));
        match self.value(key) {
            None => Ok(Vec::new()),
            Some(Value::Object(map)) => {
                map.iter().map(|(k, v)| Ok((k.clone(), v.as_str().ok_or_else(bad)?.to_owned()))).collect()
            }
            Some(Value::Array(pairs)) => pairs
                .iter()
                .map(|pair| match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
                    _ => Err(bad()),
                })
                .collect(),
            Some(_) => Err(bad()),
        }
    }
}

/// JSON Pointer escaping of one segment (RFC 6901).
pub(crate) fn escape(segment: &str) -> String {
    if !segment.contains(['~', '/']) {
        return segment.to_owned();
    }
    segment.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// `$ref` fragments are URI-encoded (`%24defs`, `%20`).
pub(crate) fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn reads_fields_and_names_the_bad_ones() {
        let v = json!({"a": "x", "n": 3, "o": {"deep": true}, "h": {"k": "v"}, "p": [["k", "v"]], "z": null});
        let f = Fields::new(&v, "cfg").unwrap();
        assert_eq!(f.string("a").unwrap().as_deref(), Some("x"));
        assert_eq!(f.string("z").unwrap(), None);
        assert_eq!(f.number("n").unwrap(), Some(3));
        assert_eq!(f.string("n").unwrap_err(), "cfg.n must be a string");
        assert_eq!(f.number("a").unwrap_err(), "cfg.a must be a non-negative integer");
        assert_eq!(f.headers("h").unwrap(), f.headers("p").unwrap());
        assert!(f.headers("o").is_err());
        assert_eq!(f.array("a").unwrap_err(), "cfg.a must be an array");
        assert!(f.only(&["a", "n", "o", "h", "p", "z"]).is_ok());
        assert!(f.only(&["a"]).unwrap_err().starts_with("unknown option cfg.n"));
        assert_eq!(Fields::new(&json!(1), "servers[0]").err().unwrap(), "servers[0] must be an object");
        let v = json!({"b": true, "n": 5_000_000_000u64, "c": "two", "x": "nine"});
        let f = Fields::new(&v, "cfg").unwrap();
        assert_eq!(f.flag("b").unwrap(), Some(true));
        assert_eq!(f.flag("c").unwrap_err(), "cfg.c must be true or false");
        assert_eq!(f.count("n").unwrap_err(), "cfg.n is too large");
        assert_eq!(f.count("z").unwrap(), None);
        let options = [("one", 1), ("two", 2), ("three", 3)];
        assert_eq!(f.choice("c", &options).unwrap(), Some(2));
        assert_eq!(f.choice("x", &options).unwrap_err(), "cfg.x must be one, two or three, not 'nine'");
    }
}
