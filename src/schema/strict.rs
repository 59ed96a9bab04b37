//! Strict mode (OpenAI Structured Outputs) for tool parameters.
//!
//! Strict mode guarantees the model's arguments fit the schema, but only for a subset of JSON Schema: every
//! object closed and listing all its properties as required, a short list of keywords, no `allOf` / `not` /
//! conditionals. [`convert`] rewrites an MCP `inputSchema` into that subset where it can do so without
//! changing what the tool accepts: an optional property becomes required-but-nullable, and its pointer is
//! recorded so that the `null` the model sends for it is removed again before the call ([`remove_added_nulls`]).
//! Where no faithful rewrite exists it says why, and the tool goes out non-strict.
//!
//! With `force`, constraints strict mode lacks (`minLength`, `uniqueItems`, …) are dropped into the
//! description instead of failing; the arguments are still checked against the original schema before the
//! call (see [`super::validate`]), so a dropped constraint costs a retry, never a bad call.

use super::validate::{self, TYPES, types};
use crate::base::json::{escape, percent_decode, unescape};
use serde_json::{Map, Value, json};

/// The formats strict mode knows; others are moved into the description (`format` only annotates).
const FORMATS: &[&str] = &["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"];
/// Keywords kept as they are.
const KEPT: &[&str] = &[
    "description",
    "enum",
    "pattern",
    "format",
    "multipleOf",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
];
/// Keywords that constrain a value: beside `anyOf`/`oneOf` they cannot be carried over (see `node`).
const CONSTRAINTS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
];
/// Constraints strict mode lacks: fatal without `force`, otherwise described.
const RELAXABLE: &[&str] = &["minLength", "maxLength", "uniqueItems", "minProperties", "maxProperties", "contains"];
/// Keywords that change what is accepted and cannot be carried over.
const FATAL: &[&str] = &[
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "prefixItems",
    "additionalItems",
    "unevaluatedItems",
    "minContains",
    "maxContains",
    "$dynamicRef",
    "$recursiveRef",
];
/// Strict-mode limits (OpenAI Structured Outputs).
const MAX_PROPERTIES: usize = 5000;
const MAX_DEPTH: usize = 10;
const MAX_ENUM_VALUES: usize = 1000;
const MAX_STRING_CHARS: usize = 120_000;
/// Guards against schemas built to explode (`$ref` fan-out, deep nesting).
const MAX_NODES: usize = 20_000;
const MAX_INLINE_DEPTH: usize = 32;
/// Schema levels the converter follows (strict mode allows 10 levels of objects, each a few schema levels deep).
const MAX_NESTING: usize = 48;

/// A strict schema and what undoing it needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Strict {
    /// The schema sent with `strict: true`.
    pub schema: Value,
    /// JSON pointers (into `schema`) of the properties that were optional and became nullable.
    pub nullable: Vec<String>,
    /// What `force` gave up, for the notes.
    pub relaxed: Vec<String>,
}

/// Converts `schema` (a tool's `inputSchema`; `None` when it has none) to strict mode, or says why it cannot.
pub(crate) fn convert(schema: Option<&Value>, force: bool) -> Result<Strict, String> {
    let empty = json!({});
    let root = schema.unwrap_or(&empty);
    let mut c = Converter {
        root,
        force,
        nullable: Vec::new(),
        relaxed: Vec::new(),
        defs: Map::new(),
        inlining: Vec::new(),
        nodes: 0,
    };
    let mut out = c.root_node()?;
    while let Some((name, pointer)) = c.next_def() {
        let original = c.resolve(&pointer).ok_or_else(|| format!("$ref '{pointer}' leads nowhere"))?;
        let converted = c.node(original, &format!("/$defs/{}", escape(&name)), 0)?;
        c.defs.insert(name, converted);
    }
    if !c.defs.is_empty() {
        out.insert("$defs".into(), Value::Object(c.defs));
    }
    let schema = Value::Object(out);
    check_limits(&schema)?;
    Ok(Strict { schema, nullable: c.nullable, relaxed: c.relaxed })
}

/// Removes the `null`s the model sent for properties that were optional before strict mode made them
/// nullable (`nullable`, pointers into the strict `schema`), so the server sees what it would have seen without
/// strict mode. `arguments` fit `schema`.
pub(crate) fn remove_added_nulls(arguments: &mut Value, schema: &Value, nullable: &[String]) {
    if !nullable.is_empty() {
        strip(arguments, schema, "", nullable, 0);
    }
}

fn strip(value: &mut Value, root: &Value, pointer: &str, nullable: &[String], depth: usize) {
    // `depth` counts levels of the value (JSON nests at most 128 deep); `$ref` and `anyOf` hops in between are
    // bounded apart, so a recursive schema cannot loop.
    let mut pointer = pointer.to_owned();
    for _ in 0..32 {
        let Some(node) = root.pointer(&pointer) else { return };
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            pointer = target.trim_start_matches('#').to_owned();
        } else if let Some(branches) = node.get("anyOf").and_then(Value::as_array) {
            // The branch the model's value fits is the one whose nulls are ours to remove.
            let Some(i) = branches.iter().position(|b| validate::fits(value, b, root)) else { return };
            pointer = format!("{pointer}/anyOf/{i}");
        } else {
            break;
        }
    }
    if depth > 128 {
        return;
    }
    match value {
        Value::Object(map) => {
            let slot = |key: &str| format!("{pointer}/properties/{}", escape(key));
            map.retain(|key, v| !(v.is_null() && nullable.contains(&slot(key))));
            for (key, v) in map.iter_mut() {
                strip(v, root, &slot(key), nullable, depth + 1);
            }
        }
        Value::Array(items) => {
            for item in items {
                strip(item, root, &format!("{pointer}/items"), nullable, depth + 1);
            }
        }
        _ => {}
    }
}

struct Converter<'a> {
    root: &'a Value,
    force: bool,
    nullable: Vec<String>,
    relaxed: Vec<String>,
    /// Definitions by output name: `null` while waiting to be (or being) converted.
    defs: Map<String, Value>,
    /// Pointers being inlined, against cycles outside `$defs`.
    inlining: Vec<String>,
    nodes: usize,
}

impl<'a> Converter<'a> {
    /// The root must be a closed object; no arguments at all is the empty one.
    fn root_node(&mut self) -> Result<Map<String, Value>, String> {
        let mut root = self.root;
        if let Some(target) = root.get("$ref").and_then(Value::as_str) {
            // A root that is only a reference to its arguments' definition: use the definition.
            let beside = ["$ref", "$defs", "definitions", "$schema", "$id", "title", "description", "type"];
            if root.as_object().is_some_and(|m| m.keys().any(|k| !beside.contains(&k.as_str()))) {
                return Err("the root has a $ref beside other keywords".into());
            }
            root = self
                .resolve(target.trim_start_matches('#'))
                .filter(|r| r.get("$ref").is_none())
                .ok_or("the root $ref leads nowhere")?;
        }
        match root {
            Value::Bool(true) => {
                return Ok(Map::from_iter([
                    ("type".to_owned(), Value::from("object")),
                    ("properties".to_owned(), Value::Object(Map::new())),
                    ("required".to_owned(), Value::Array(Vec::new())),
                    ("additionalProperties".to_owned(), Value::Bool(false)),
                ]));
            }
            Value::Object(map) if map.contains_key("anyOf") || map.contains_key("oneOf") => {
                return Err("the root is a union (anyOf/oneOf), which strict mode does not allow".into());
            }
            Value::Object(map) if map.get("type").is_none_or(|t| types(t).contains(&"object")) => {}
            _ => return Err("the input schema's root is not an object schema".into()),
        }
        match self.node(root, "", 0)? {
            Value::Object(mut map) => {
                // The arguments are always an object: a nullable root is an object root.
                map.insert("type".into(), Value::from("object"));
                Ok(map)
            }
            _ => Err("the input schema's root is not an object schema".into()),
        }
    }

    /// Converts one schema node; `pointer` is where it lands in the output.
    fn node(&mut self, schema: &Value, pointer: &str, depth: usize) -> Result<Value, String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!("the schema has more than {MAX_NODES} parts"));
        }
        if depth > MAX_NESTING {
            return Err(at(pointer, "a schema nested too deeply"));
        }
        let Value::Object(map) = schema else { return Err(at(pointer, "a schema that accepts anything or nothing")) };
        if let Some(target) = map.get("$ref") {
            return self.reference(map, target, pointer, depth);
        }
        let mut out = Map::new();
        let mut notes = String::new();
        let mut types_out: Vec<&str> = match map.get("type") {
            Some(t) => types(t),
            // The root is always an object (a tool without arguments may say nothing at all).
            None if pointer.is_empty()
                || map.contains_key("properties")
                || map.contains_key("additionalProperties") =>
            {
                vec!["object"]
            }
            None if map.contains_key("items") => vec!["array"],
            None => Vec::new(),
        };
        if map.contains_key("type") && (types_out.is_empty() || types_out.iter().any(|t| !TYPES.contains(t))) {
            return Err(at(pointer, "an unknown type"));
        }
        let union = map.contains_key("anyOf") || map.contains_key("oneOf");
        if union && map.keys().any(|k| CONSTRAINTS.contains(&k.as_str())) {
            // Strict mode closes every object, the parent's and each alternative's: no value could fit both.
            return Err(at(pointer, "anyOf/oneOf beside other constraints"));
        }
        for (key, value) in map {
            let key = key.as_str();
            let described = match key {
                "type"
                | "properties"
                | "required"
                | "additionalProperties"
                | "items"
                | "anyOf"
                | "oneOf"
                | "unevaluatedProperties" => continue,
                "const" if map.get("enum").is_some_and(|e| !e.as_array().is_some_and(|e| e.contains(value))) => {
                    return Err(at(pointer, "a const outside its enum"));
                }
                "const" | "enum" if map.contains_key("const") => {
                    out.insert("enum".into(), Value::Array(vec![map["const"].clone()]));
                    continue;
                }
                // Strict mode lacks these, but saying them in the description keeps their meaning for the model
                // (`format` only annotates; a default is what the server does with an omitted argument).
                "default" if value.is_null() => continue,
                "default" => ("Default", value),
                "format" if !value.as_str().is_some_and(|f| FORMATS.contains(&f)) => ("Format", value),
                "uniqueItems" if value == &Value::Bool(false) => continue,
                "exclusiveMinimum" | "exclusiveMaximum" if !value.is_number() => {
                    return Err(at(pointer, "a draft-4 exclusive bound"));
                }
                _ if KEPT.contains(&key) => {
                    if !kept_value_fits(key, value) {
                        return Err(at(pointer, &[key, " with a value strict mode cannot take"].concat()));
                    }
                    out.insert(key.into(), value.clone());
                    continue;
                }
                _ if RELAXABLE.contains(&key) && self.force => {
                    self.relaxed.push(at(pointer, key));
                    (key, value)
                }
                _ if RELAXABLE.contains(&key) || FATAL.contains(&key) => {
                    return Err(at(pointer, &[key, ", which strict mode does not support"].concat()));
                }
                // Annotations (title, examples, $comment, …) and unknown keywords: nothing about what is accepted.
                _ => continue,
            };
            let text = match described.1 {
                Value::String(s) => s.clone(),
                other => crate::base::json::text(other),
            };
            if text.len() <= 200 {
                notes.push_str(&[if notes.is_empty() { "" } else { " " }, described.0, ": ", &text, "."].concat());
            }
        }
        if types_out.is_empty() {
            // Strict mode wants a type beside an enum: the types of its values.
            for value in out.get("enum").and_then(Value::as_array).into_iter().flatten() {
                let t = value_type(value);
                if t == "object" || t == "array" {
                    return Err(at(pointer, "an enum of objects or arrays"));
                }
                if !types_out.contains(&t) {
                    types_out.push(t);
                }
            }
        }
        if let Some(Value::Array(values)) = out.get("enum") {
            let fits = |v: &Value| types_out.iter().any(|t| *t == value_type(v) || (*t == "number" && v.is_number()));
            if !values.iter().all(fits) {
                return Err(at(pointer, "an enum value its type does not allow"));
            }
        }
        if !types_out.contains(&"string") {
            out.remove("format"); // it only annotates strings
        }
        if let [one] = types_out.as_slice() {
            out.insert("type".into(), Value::from(*one));
        } else if !types_out.is_empty() {
            out.insert("type".into(), Value::from(types_out.clone()));
        }
        match (map.get("anyOf"), map.get("oneOf")) {
            (Some(_), Some(_)) => return Err(at(pointer, "both anyOf and oneOf")),
            (None, Some(branches)) if !self.force && !disjoint(branches, self.root) => {
                return Err(at(pointer, "oneOf whose alternatives may overlap (strict mode only has anyOf)"));
            }
            (Some(branches), None) | (None, Some(branches)) => {
                let branches = branches.as_array().filter(|b| !b.is_empty());
                let branches = branches.ok_or_else(|| at(pointer, "an empty or malformed anyOf"))?;
                let mut converted = Vec::with_capacity(branches.len());
                for (i, branch) in branches.iter().enumerate() {
                    converted.push(self.node(branch, &format!("{pointer}/anyOf/{i}"), depth + 1)?);
                }
                out.insert("anyOf".into(), Value::Array(converted));
            }
            (None, None) if types_out.is_empty() && !out.contains_key("enum") => {
                return Err(at(pointer, "a schema without a type, which accepts any value"));
            }
            (None, None) => {}
        }
        if types_out.contains(&"object") {
            self.object(map, &mut out, pointer, depth)?;
        }
        if types_out.contains(&"array") {
            let items = match map.get("items") {
                Some(items @ Value::Object(_)) => self.node(items, &format!("{pointer}/items"), depth + 1)?,
                _ => return Err(at(pointer, "an array whose items are not one schema")),
            };
            out.insert("items".into(), items);
        }
        if !notes.is_empty() {
            let description = match out.get("description").and_then(Value::as_str) {
                Some(d) if !d.is_empty() => [d, " ", &notes].concat(),
                _ => notes,
            };
            out.insert("description".into(), Value::String(description));
        }
        Ok(Value::Object(out))
    }

    /// Closes an object: every property required, the optional ones nullable.
    fn object(
        &mut self,
        map: &Map<String, Value>,
        out: &mut Map<String, Value>,
        pointer: &str,
        depth: usize,
    ) -> Result<(), String> {
        let empty = Map::new();
        let properties = match map.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(at(pointer, "properties that are not an object")),
        };
        let open = match (map.get("additionalProperties"), map.get("unevaluatedProperties")) {
            (Some(Value::Object(_)), _) | (_, Some(Value::Object(_))) => {
                return Err(at(
                    pointer,
                    "a map (additionalProperties with a schema), which strict mode cannot express",
                ));
            }
            (Some(Value::Bool(b)), _) | (None, Some(Value::Bool(b))) => *b,
            // Not said: open by JSON Schema's rules; closing it only keeps the model to the listed properties,
            // unless there are none (a free-form object).
            _ => properties.is_empty() && !pointer.is_empty(),
        };
        if open && (properties.is_empty() || !self.force) {
            return Err(at(pointer, "an open object (it accepts properties it does not list)"));
        }
        if open {
            self.relaxed.push(at(pointer, "an open object closed"));
        }
        let required: Vec<&str> = match map.get("required") {
            None => Vec::new(),
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            Some(_) => return Err(at(pointer, "required that is not a list")),
        };
        if let Some(missing) = required.iter().find(|r| !properties.contains_key(**r)) {
            return Err(at(pointer, &format!("'{missing}' required but not described")));
        }
        let mut converted = Map::new();
        for (key, schema) in properties {
            let slot = format!("{pointer}/properties/{}", escape(key));
            let accepts_null = validate::accepts_null(schema, self.root);
            let optional = !required.contains(&key.as_str());
            if optional && accepts_null && schema.get("default").is_some_and(|d| !d.is_null()) {
                // Strict mode makes it required: the model's null could not be told from leaving it out.
                return Err(at(&slot, "an optional, nullable property with a default"));
            }
            let optional = optional && !accepts_null;
            let value = if optional {
                self.nullable.push(slot.clone());
                self.nullable_node(schema, &slot, depth + 1)?
            } else {
                self.node(schema, &slot, depth + 1)?
            };
            converted.insert(key.clone(), value);
        }
        out.insert("properties".into(), Value::Object(converted));
        out.insert("required".into(), Value::Array(properties.keys().map(|k| Value::from(k.as_str())).collect()));
        out.insert("additionalProperties".into(), Value::Bool(false));
        Ok(())
    }

    /// An optional property, required but nullable: `null` added to a plain `type` or to an `anyOf`, or the
    /// node wrapped in an `anyOf` with null.
    fn nullable_node(&mut self, schema: &Value, slot: &str, depth: usize) -> Result<Value, String> {
        let mut node = self.node(schema, slot, depth)?;
        let null_type = json!({"type": "null"});
        if let Some(Value::Array(branches)) = node.get_mut("anyOf") {
            branches.push(null_type);
            return Ok(node);
        }
        let plain = node_is_plain(&node);
        match node.get_mut("type") {
            Some(t) if plain => {
                let mut list = match t.take() {
                    Value::Array(list) => list,
                    one => vec![one],
                };
                list.push(json!("null"));
                *t = Value::Array(list);
                Ok(node)
            }
            _ => {
                // The node moves down into the union: so do the pointers recorded inside it.
                let inside = format!("{slot}/");
                for pointer in self.nullable.iter_mut().filter(|p| p.starts_with(&inside)) {
                    *pointer = format!("{slot}/anyOf/0/{}", &pointer[inside.len()..]);
                }
                Ok(json!({"anyOf": [node, null_type]}))
            }
        }
    }

    /// A `$ref`: kept when it names a root definition (or the root), otherwise inlined.
    fn reference(
        &mut self,
        map: &Map<String, Value>,
        target: &Value,
        pointer: &str,
        depth: usize,
    ) -> Result<Value, String> {
        let target = target.as_str().ok_or("a $ref that is not a string")?;
        let annotations = ["$ref", "description", "title", "default", "$comment", "examples", "deprecated"];
        if let Some(key) = map.keys().find(|k| !annotations.contains(&k.as_str())) {
            return Err(at(pointer, &format!("$ref with '{key}' beside it")));
        }
        let Some(local) = target.strip_prefix('#') else {
            return Err(at(pointer, &format!("a $ref to another document ('{target}'), which is never fetched")));
        };
        // Strict mode refuses any key beside `$ref`: a description goes on a one-branch union around it.
        let described = |target: String| match map.get("description") {
            Some(d) => json!({"anyOf": [{"$ref": target}], "description": d}),
            None => json!({"$ref": target}),
        };
        if local.is_empty() {
            return Ok(described("#".into()));
        }
        if let Some(name) = def_name(local) {
            let name = unescape(&percent_decode(name));
            let other = if local.starts_with("/$defs/") { "definitions" } else { "$defs" };
            if self.root.get(other).and_then(|d| d.get(&name)).is_some() {
                return Err(format!("'{name}' is defined both in $defs and in definitions"));
            }
            self.resolve(local).ok_or_else(|| at(pointer, &format!("$ref '{target}' leads nowhere")))?;
            let target = format!("#/$defs/{}", escape(&name));
            self.defs.entry(name).or_insert(Value::Null);
            return Ok(described(target));
        }
        // A pointer into some other part of the schema: inline a converted copy.
        if self.inlining.iter().any(|p| p == local) || self.inlining.len() > MAX_INLINE_DEPTH {
            return Err(at(pointer, &format!("a recursive $ref '{target}' outside $defs")));
        }
        let resolved = self.resolve(local).ok_or_else(|| at(pointer, &format!("$ref '{target}' leads nowhere")))?;
        self.inlining.push(local.to_owned());
        let node = self.node(resolved, pointer, depth);
        self.inlining.pop();
        match (node, map.get("description")) {
            // Nothing may stand beside a `$ref` in strict mode.
            (Ok(node), Some(d)) if node.get("$ref").is_some() => Ok(json!({"anyOf": [node], "description": d})),
            (Ok(Value::Object(mut node)), Some(d)) => {
                node.insert("description".into(), d.clone());
                Ok(Value::Object(node))
            }
            (node, _) => node,
        }
    }

    fn next_def(&self) -> Option<(String, String)> {
        let name = self.defs.iter().find(|(_, v)| v.is_null()).map(|(k, _)| k.clone())?;
        let section = if self.root.get("$defs").and_then(|d| d.get(&name)).is_some() { "$defs" } else { "definitions" };
        Some((name.clone(), format!("/{section}/{}", escape(&name))))
    }

    fn resolve(&self, pointer: &str) -> Option<&'a Value> {
        self.root.pointer(&percent_decode(pointer))
    }
}

/// Whether a kept keyword's value is one strict mode takes (schemas in the wild carry odd ones).
fn kept_value_fits(key: &str, value: &Value) -> bool {
    match key {
        "description" | "pattern" | "format" => value.is_string(),
        "enum" => value.as_array().is_some_and(|e| !e.is_empty()),
        "multipleOf" => value.as_f64().is_some_and(|n| n > 0.0),
        "minItems" | "maxItems" => value.is_u64(),
        _ => value.is_number(),
    }
}

/// A problem and where it is: `what at /properties/x`.
fn at(pointer: &str, what: &str) -> String {
    // A pointer deep in a schema can be long: its start and its end say where.
    let chars: Vec<char> = pointer.chars().collect();
    let pointer = match chars.len() {
        0 => "/".to_owned(),
        n if n > 80 => {
            format!("{}…{}", chars[..40].iter().collect::<String>(), chars[n - 30..].iter().collect::<String>())
        }
        _ => pointer.to_owned(),
    };
    format!("{what} at {pointer}")
}

/// The types strict mode knows.
/// A node whose `type` can take `null` without changing anything else (an `enum` would still refuse it).
fn node_is_plain(node: &Value) -> bool {
    ["$ref", "anyOf", "enum"].iter().all(|k| node.get(*k).is_none())
}

/// The name in `/$defs/NAME` or `/definitions/NAME` (one segment only).
fn def_name(pointer: &str) -> Option<&str> {
    let rest = pointer.strip_prefix("/$defs/").or_else(|| pointer.strip_prefix("/definitions/"))?;
    (!rest.contains('/')).then_some(rest)
}

/// `oneOf` may become `anyOf` when no value can fit two alternatives: alternatives of different single types,
/// or objects told apart by a required property with different constant values.
fn disjoint(branches: &Value, root: &Value) -> bool {
    let Some(branches) = branches.as_array() else { return false };
    let resolved: Vec<&Value> = branches
        .iter()
        .map(|b| match b.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(local) => root.pointer(&percent_decode(local)).unwrap_or(b),
            None => b,
        })
        .collect();
    let kinds: Vec<Option<&str>> = resolved
        .iter()
        .map(|b| match b.get("type").map(types).as_deref() {
            Some(["integer"]) => Some("number"),
            Some([t]) => Some(*t),
            _ => None,
        })
        .collect();
    if kinds.iter().enumerate().all(|(i, k)| k.is_some() && !kinds[..i].contains(k)) {
        return true;
    }
    // A discriminator: some property required everywhere, with a different constant in each alternative.
    let Some(first) = resolved.first().and_then(|b| b.get("properties")).and_then(Value::as_object) else {
        return false;
    };
    first.keys().any(|key| {
        let constants: Option<Vec<Value>> = resolved
            .iter()
            .map(|b| {
                let required = b.get("required").and_then(Value::as_array).is_some_and(|r| r.contains(&json!(key)));
                let property = b.get("properties")?.get(key)?;
                let constant =
                    property.get("const").cloned().or_else(|| match property.get("enum")?.as_array()?.as_slice() {
                        [one] => Some(one.clone()),
                        _ => None,
                    });
                constant.filter(|_| required)
            })
            .collect();
        constants.is_some_and(|c| c.iter().enumerate().all(|(i, x)| !c[..i].contains(x)))
    })
}

/// The limits strict mode puts on a whole schema.
fn check_limits(schema: &Value) -> Result<(), String> {
    #[derive(Default)]
    struct Count {
        properties: usize,
        enum_values: usize,
        chars: usize,
    }
    // Sizes: every node once (definitions where they are defined). The output is as deep as the conversion
    // allowed (MAX_NESTING), so the recursion is bounded.
    fn walk(v: &Value, count: &mut Count) -> Result<(), String> {
        let Value::Object(map) = v else { return Ok(()) };
        if let Some(Value::Array(values)) = map.get("enum") {
            count.enum_values += values.len();
            let chars: usize = values.iter().filter_map(Value::as_str).map(|s| s.chars().count()).sum();
            count.chars += chars;
            if values.len() > 250 && chars > 15_000 {
                return Err(format!("an enum of {} values and {chars} characters (over 15 000)", values.len()));
            }
        }
        for key in ["properties", "$defs"] {
            if let Some(Value::Object(children)) = map.get(key) {
                count.properties += if key == "properties" { children.len() } else { 0 };
                for (name, child) in children {
                    count.chars += name.chars().count();
                    walk(child, count)?;
                }
            }
        }
        for key in ["items", "anyOf"] {
            match map.get(key) {
                Some(Value::Array(list)) => list.iter().try_for_each(|b| walk(b, count))?,
                Some(one) => walk(one, count)?,
                None => {}
            }
        }
        Ok(())
    }
    let mut count = Count::default();
    walk(schema, &mut count)?;
    if count.properties > MAX_PROPERTIES {
        return Err(format!("{} properties (strict mode allows {MAX_PROPERTIES})", count.properties));
    }
    let depth = nesting(schema, schema, &mut Vec::new(), &mut 0);
    if depth > MAX_DEPTH {
        return Err(format!("objects nested {depth} deep (strict mode allows {MAX_DEPTH})"));
    }
    if count.enum_values > MAX_ENUM_VALUES {
        return Err(format!("{} enum values (strict mode allows {MAX_ENUM_VALUES})", count.enum_values));
    }
    if count.chars > MAX_STRING_CHARS {
        return Err(format!("{} characters of names and values (strict mode allows {MAX_STRING_CHARS})", count.chars));
    }
    Ok(())
}

/// How deep objects nest, following `$ref`s into definitions (a definition that refers back to itself ends
/// the count there: recursion is allowed). `steps` bounds the walk over definitions shared many times.
fn nesting<'a>(v: &'a Value, root: &'a Value, inside: &mut Vec<&'a str>, steps: &mut usize) -> usize {
    *steps += 1;
    let Value::Object(map) = v else { return 0 };
    if *steps > 100_000 {
        return 0;
    }
    if let Some(target) = map.get("$ref").and_then(Value::as_str) {
        let Some(def) = root.pointer(target.trim_start_matches('#')).filter(|_| target != "#") else { return 0 };
        if inside.contains(&target) {
            return 0;
        }
        inside.push(target);
        let depth = nesting(def, root, inside, steps);
        inside.pop();
        return depth;
    }
    let mut deepest = 0;
    if let Some(Value::Object(properties)) = map.get("properties") {
        deepest = 1 + properties.values().map(|p| nesting(p, root, inside, steps)).max().unwrap_or(0);
    }
    for key in ["items", "anyOf"] {
        let children: Vec<&Value> = match map.get(key) {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        for child in children {
            deepest = deepest.max(nesting(child, root, inside, steps));
        }
    }
    deepest
}

fn value_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests;
