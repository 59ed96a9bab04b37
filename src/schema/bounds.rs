//! Schemas the catalog does not offer at all: nested too deeply, too large, or with a `$ref` chain that loops.
//! The model API may refuse such a schema, and one refusal fails the request with every other tool in it.

use serde_json::Value;

/// Levels of JSON nesting in an input schema.
const MAX_DEPTH: usize = 64;
/// Parts of an input schema (every value in it, and every `$ref` hop followed).
const MAX_PARTS: usize = 20_000;

/// Why the tool with `schema` as its input schema cannot be offered, if it cannot.
pub(super) fn unusable(schema: &Value) -> Option<String> {
    let mut parts = 0;
    let mut stack = vec![(schema, 1)];
    while let Some((value, depth)) = stack.pop() {
        parts += 1;
        if depth > MAX_DEPTH {
            return Some(format!("its input schema nests deeper than {MAX_DEPTH} levels"));
        }
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    if ref_loops(schema, target, &mut parts) {
                        return Some(format!("its input schema's $ref '{target}' loops without a schema"));
                    }
                }
                stack.extend(map.values().map(|v| (v, depth + 1)));
            }
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            _ => {}
        }
        if parts > MAX_PARTS {
            return Some(format!("its input schema has more than {MAX_PARTS} parts"));
        }
    }
    None
}

/// Whether a chain of `$ref`s from `target` comes back to where it has been without reaching a schema that is
/// more than a `$ref` (a recursive type is fine: its properties refer back, not the reference itself).
fn ref_loops<'a>(root: &'a Value, mut target: &'a str, parts: &mut usize) -> bool {
    let mut seen = Vec::new();
    loop {
        if seen.contains(&target) {
            return true;
        }
        seen.push(target);
        *parts += 1;
        let Some(node) = target.strip_prefix('#').and_then(|pointer| root.pointer(pointer)) else { return false };
        match node.get("$ref") {
            Some(Value::String(next)) if *parts <= MAX_PARTS => target = next,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn deep_huge_and_looping_schemas_are_refused_and_recursive_types_are_not() {
        let nest = |levels: usize| (0..levels).fold(json!({"type": "string"}), |s, _| json!({"properties": {"x": s}}));
        assert_eq!(unusable(&nest(31)), None);
        assert!(unusable(&nest(32)).unwrap().contains("deeper than 64 levels"));
        let wide = json!({"type": "object", "properties": (0..12_000).map(|i| (format!("p{i}"), json!({"type": "string"}))).collect::<serde_json::Map<_, _>>()});
        assert!(unusable(&wide).unwrap().contains("more than 20000 parts"));
        let looping = json!({"properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}});
        assert_eq!(unusable(&looping).unwrap(), "its input schema's $ref '#/$defs/a' loops without a schema");
        assert!(unusable(&json!({"$ref": "#"})).is_some(), "the root refers to itself");
        let tree = json!({"type": "object", "properties": {"root": {"$ref": "#/$defs/node"}},
            "$defs": {"node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}});
        assert_eq!(unusable(&tree), None);
    }
}
