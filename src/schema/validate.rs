//! Checking the model's arguments against a tool's own `inputSchema` before calling the server.
//!
//! A small JSON Schema validator (2020-12 and draft-07 keywords) written for this one job, instead of a full
//! validator crate that would add a regex engine and a URL resolver to the WebAssembly build. It errs on the
//! side of letting a call through: what it does not check (`pattern`, `format`, `$ref`s it cannot resolve,
//! anything past its work budget) is left to the server, which validates too. Skipping a check can only make
//! a value fit more, so `not`, `oneOf` with several matches and `if` give no verdict where something was
//! skipped. What it does report names the place and the problem, for the model to fix.

use crate::base::json::{escape, percent_decode, text};
use serde_json::Value;

/// Work budget per validation: a pathological schema or value ends the check (as a pass), never the caller.
const MAX_STEPS: usize = 100_000;
const MAX_DEPTH: usize = 64;

/// `Ok` when `value` fits `schema` (a whole schema: local `$ref`s resolve against it); else the first problem.
pub(crate) fn validate(value: &Value, schema: &Value) -> Result<(), String> {
    check(value, schema, schema)
}

/// True when `value` fits `schema`, a part of `root`.
pub(crate) fn fits(value: &Value, schema: &Value, root: &Value) -> bool {
    check(value, schema, root).is_ok()
}

fn check(value: &Value, schema: &Value, root: &Value) -> Result<(), String> {
    let mut v = Validator { root, steps: 0, unsure: false };
    let result = v.check(value, schema, &mut String::new(), 0);
    // Past the budget, parts were waved through (and `not` / `oneOf` may have misjudged): no verdict.
    if v.steps > MAX_STEPS { Ok(()) } else { result }
}

/// True when `schema` (a part of `root`) accepts `null`.
pub(crate) fn accepts_null(schema: &Value, root: &Value) -> bool {
    match schema.get("type") {
        // The common case, decided without running the validator: every keyword must hold, and this one fails.
        Some(Value::String(t)) if t != "null" => false,
        _ => fits(&Value::Null, schema, root),
    }
}

struct Validator<'a> {
    root: &'a Value,
    steps: usize,
    /// A check was skipped (and counted as passed) since this was last reset.
    unsure: bool,
}

/// Assertions this validator does not make.
const UNCHECKED: &[&str] = &[
    "pattern",
    "format",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "unevaluatedProperties",
    "unevaluatedItems",
    "minContains",
    "maxContains",
    "$dynamicRef",
    "$recursiveRef",
];

impl<'a> Validator<'a> {
    fn check(&mut self, value: &Value, schema: &'a Value, path: &mut String, depth: usize) -> Result<(), String> {
        self.steps += 1;
        if self.steps > MAX_STEPS || depth > MAX_DEPTH {
            self.unsure = true;
            return Ok(());
        }
        let map = match schema {
            Value::Bool(false) => return Err(miss(path, "no value is allowed here")),
            Value::Object(map) => map,
            _ => return Ok(()),
        };
        if map.keys().any(|k| UNCHECKED.contains(&k.as_str())) {
            self.unsure = true;
        }
        if let Some(target) = map.get("$ref").and_then(Value::as_str) {
            match self.resolve(target) {
                Some(resolved) => self.check(value, resolved, path, depth + 1)?,
                None => self.unsure = true,
            }
        }
        if let Some(t) = map.get("type") {
            let allowed = types(t);
            if allowed.iter().any(|t| !TYPES.contains(t)) {
                // A type name JSON Schema does not have: nothing to check against.
                self.unsure = true;
            } else if !allowed.is_empty() && !allowed.iter().any(|t| is_type(value, t)) {
                return Err(miss(path, &format!("expected {}, got {}", allowed.join(" or "), kind(value))));
            }
        }
        if let Some(Value::Array(options)) = map.get("enum") {
            if !options.iter().any(|o| equal(o, value)) {
                let list: Vec<String> = options.iter().take(10).map(text).collect();
                return Err(miss(path, &format!("must be one of {}", list.join(", "))));
            }
        }
        if let Some(c) = map.get("const") {
            if !equal(c, value) {
                return Err(miss(path, &format!("must be {}", text(c))));
            }
        }
        match value {
            Value::String(s) => {
                let n = s.chars().count() as f64;
                if map.get("minLength").and_then(Value::as_f64).is_some_and(|min| n < min) {
                    return Err(miss(path, &format!("must be at least {} characters long", text(&map["minLength"]))));
                }
                if map.get("maxLength").and_then(Value::as_f64).is_some_and(|max| n > max) {
                    return Err(miss(path, &format!("must be at most {} characters long", text(&map["maxLength"]))));
                }
            }
            Value::Number(n) => self.number(n.as_f64().unwrap_or(0.0), map, path)?,
            Value::Array(items) => self.array(items, map, path, depth)?,
            Value::Object(object) => self.object(object, map, path, depth)?,
            _ => {}
        }
        if let Some(Value::Array(parts)) = map.get("allOf") {
            for part in parts {
                self.check(value, part, path, depth + 1)?;
            }
        }
        if let Some(Value::Array(options)) = map.get("anyOf") {
            if !options.iter().any(|o| self.passes(value, o, depth)) {
                return Err(miss(path, "fits none of the alternatives (anyOf)"));
            }
        }
        if let Some(Value::Array(options)) = map.get("oneOf") {
            let (n, unsure) = self.count_passing(value, options, depth);
            if n == 0 || (n > 1 && !unsure) {
                return Err(miss(path, &format!("must fit exactly one alternative (oneOf), fits {n}")));
            }
        }
        if let Some(not) = map.get("not") {
            if let (1, false) = self.count_passing(value, std::slice::from_ref(not), depth) {
                return Err(miss(path, "fits a schema it must not fit (not)"));
            }
        }
        if let Some(condition) = map.get("if") {
            let branch = match self.count_passing(value, std::slice::from_ref(condition), depth) {
                (_, true) => None, // which branch applies is not known
                (1, false) => map.get("then"),
                _ => map.get("else"),
            };
            if let Some(branch) = branch {
                self.check(value, branch, path, depth + 1)?;
            }
        }
        Ok(())
    }

    fn passes(&mut self, value: &Value, schema: &'a Value, depth: usize) -> bool {
        self.check(value, schema, &mut String::new(), depth + 1).is_ok()
    }

    /// How many of `schemas` the value fits, and whether a skipped check may have inflated that count.
    fn count_passing(&mut self, value: &Value, schemas: &'a [Value], depth: usize) -> (usize, bool) {
        let before = std::mem::take(&mut self.unsure);
        let n = schemas.iter().filter(|s| self.passes(value, s, depth)).count();
        let unsure = self.unsure;
        self.unsure |= before;
        (n, unsure)
    }

    /// Bounds are printed from the schema's own JSON: formatting an `f64` would pull Rust's float printing
    /// (tens of kilobytes) into the WebAssembly build.
    fn number(&self, x: f64, map: &serde_json::Map<String, Value>, path: &str) -> Result<(), String> {
        let bound = |key: &str| map.get(key).and_then(|v| Some((v.as_f64()?, v)));
        // Draft 4 spells exclusive bounds as booleans beside minimum / maximum.
        let draft4 = |key: &str| map.get(key) == Some(&Value::Bool(true));
        let exclusive = |key: &str, plain: &str| if draft4(key) { bound(plain) } else { bound(key) };
        if let Some((min, v)) = bound("minimum").filter(|_| !draft4("exclusiveMinimum")) {
            if x < min {
                return Err(miss(path, &format!("must be at least {}", text(v))));
            }
        }
        if let Some((max, v)) = bound("maximum").filter(|_| !draft4("exclusiveMaximum")) {
            if x > max {
                return Err(miss(path, &format!("must be at most {}", text(v))));
            }
        }
        if let Some((min, v)) = exclusive("exclusiveMinimum", "minimum") {
            if x <= min {
                return Err(miss(path, &format!("must be greater than {}", text(v))));
            }
        }
        if let Some((max, v)) = exclusive("exclusiveMaximum", "maximum") {
            if x >= max {
                return Err(miss(path, &format!("must be less than {}", text(v))));
            }
        }
        if let Some((step, v)) = bound("multipleOf").filter(|(s, _)| *s > 0.0) {
            let q = x / step;
            if (q - q.round()).abs() > 1e-9 * q.abs().max(1.0) {
                return Err(miss(path, &format!("must be a multiple of {}", text(v))));
            }
        }
        Ok(())
    }

    fn array(
        &mut self,
        items: &[Value],
        map: &'a serde_json::Map<String, Value>,
        path: &mut String,
        depth: usize,
    ) -> Result<(), String> {
        let count = |key: &str| map.get(key).and_then(Value::as_u64).map(|n| n as usize);
        if count("minItems").is_some_and(|min| items.len() < min) {
            return Err(miss(path, &format!("needs at least {} items", text(&map["minItems"]))));
        }
        if count("maxItems").is_some_and(|max| items.len() > max) {
            return Err(miss(path, &format!("allows at most {} items", text(&map["maxItems"]))));
        }
        if map.get("uniqueItems") == Some(&Value::Bool(true)) {
            // Pairwise, so past a thousand items it would cost more than a whole check may: no verdict then.
            if items.len() > 1000 {
                self.unsure = true;
            } else if let Some(i) = (1..items.len()).find(|&i| items[..i].iter().any(|x| equal(x, &items[i]))) {
                return Err(miss(path, &format!("item {i} repeats an earlier item (uniqueItems)")));
            }
        }
        // 2020-12: prefixItems then items for the rest; draft-07: items as a list, then additionalItems.
        let (prefix, rest): (&[Value], Option<&Value>) = match (map.get("prefixItems"), map.get("items")) {
            (Some(Value::Array(prefix)), rest) => (prefix, rest),
            (None, Some(Value::Array(prefix))) => (prefix, map.get("additionalItems")),
            (_, rest) => (&[], rest),
        };
        for (i, item) in items.iter().enumerate() {
            let Some(schema) = prefix.get(i).or(rest) else { break };
            self.at(path, &i.to_string(), |v, path| v.check(item, schema, path, depth + 1))?;
        }
        if let Some(contains) = map.get("contains") {
            if !items.iter().any(|item| self.passes(item, contains, depth)) {
                return Err(miss(path, "has no item that fits 'contains'"));
            }
        }
        Ok(())
    }

    fn object(
        &mut self,
        object: &serde_json::Map<String, Value>,
        map: &'a serde_json::Map<String, Value>,
        path: &mut String,
        depth: usize,
    ) -> Result<(), String> {
        if let Some(Value::Array(required)) = map.get("required") {
            if let Some(name) = required.iter().filter_map(Value::as_str).find(|r| !object.contains_key(*r)) {
                return Err(miss(path, &format!("is missing the required property '{name}'")));
            }
        }
        let count = |key: &str| map.get(key).and_then(Value::as_u64).map(|n| n as usize);
        if count("minProperties").is_some_and(|min| object.len() < min) {
            return Err(miss(path, &format!("needs at least {} properties", text(&map["minProperties"]))));
        }
        if count("maxProperties").is_some_and(|max| object.len() > max) {
            return Err(miss(path, &format!("allows at most {} properties", text(&map["maxProperties"]))));
        }
        let properties = map.get("properties").and_then(Value::as_object);
        // Without a regex engine, which keys patternProperties covers is unknown: no extra-key check then.
        let additional = map.get("additionalProperties").filter(|_| !map.contains_key("patternProperties"));
        for (key, value) in object {
            match (properties.and_then(|p| p.get(key)), additional) {
                (Some(schema), _) => self.at(path, key, |v, path| v.check(value, schema, path, depth + 1))?,
                (None, Some(Value::Bool(false))) => {
                    return Err(miss(path, &format!("has a property '{key}' the tool does not take")));
                }
                (None, Some(schema)) => self.at(path, key, |v, path| v.check(value, schema, path, depth + 1))?,
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// Runs `f` with `path` extended by `segment`.
    fn at(
        &mut self,
        path: &mut String,
        segment: &str,
        f: impl FnOnce(&mut Self, &mut String) -> Result<(), String>,
    ) -> Result<(), String> {
        let len = path.len();
        path.push('/');
        path.push_str(&escape(segment));
        let result = f(self, path);
        path.truncate(len);
        result
    }

    fn resolve(&self, target: &str) -> Option<&'a Value> {
        let pointer = target.strip_prefix('#')?;
        self.root.pointer(&percent_decode(pointer))
    }
}

fn miss(path: &str, problem: &str) -> String {
    if path.is_empty() { problem.to_owned() } else { format!("{path} {problem}") }
}

/// The type names JSON Schema has.
pub(crate) const TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array", "null"];

/// The type names a `type` keyword gives: one, or a list.
pub(crate) fn types(t: &Value) -> Vec<&str> {
    match t {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_type(value: &Value, t: &str) -> bool {
    match (t, value) {
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        ("number", Value::Number(_))
        | ("string", Value::String(_))
        | ("boolean", Value::Bool(_))
        | ("null", Value::Null)
        | ("array", Value::Array(_))
        | ("object", Value::Object(_)) => true,
        _ => false,
    }
}

/// A value's kind, for messages: `a string`, `an integer`, …
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn types_required_and_extra_properties() {
        let s = json!({"type":"object","properties":{"q":{"type":"string"},"n":{"type":"integer"}},"required":["q"],"additionalProperties":false});
        assert_eq!(validate(&json!({"q":"x","n":3}), &s), Ok(()));
        assert_eq!(validate(&json!({"q":"x","n":3.0}), &s), Ok(()), "3.0 is an integer");
        assert_eq!(validate(&json!({"n":3}), &s).unwrap_err(), "is missing the required property 'q'");
        assert_eq!(validate(&json!({"q":"x","n":"3"}), &s).unwrap_err(), "/n expected integer, got a string");
        assert_eq!(validate(&json!({"q":"x","n":2.5}), &s).unwrap_err(), "/n expected integer, got a number");
        assert_eq!(validate(&json!({"q":"x","z":1}), &s).unwrap_err(), "has a property 'z' the tool does not take");
        assert_eq!(validate(&json!({"q":null}), &s).unwrap_err(), "/q expected string, got null");
    }

    #[test]
    fn ranges_lengths_and_enums() {
        let s = json!({"properties":{
            "a":{"minimum":1,"exclusiveMaximum":10,"multipleOf":0.5},
            "b":{"minLength":2,"maxLength":3},
            "c":{"enum":["x",1]},
            "d":{"minimum":0,"exclusiveMinimum":true},
            "e":{"const":{"k":[1]}}
        }});
        assert!(validate(&json!({"a":9.5,"b":"éé","c":1.0,"d":0.1,"e":{"k":[1.0]}}), &s).is_ok());
        assert_eq!(validate(&json!({"a":10}), &s).unwrap_err(), "/a must be less than 10");
        assert_eq!(validate(&json!({"a":0}), &s).unwrap_err(), "/a must be at least 1");
        assert_eq!(validate(&json!({"a":1.25}), &s).unwrap_err(), "/a must be a multiple of 0.5");
        assert!(validate(&json!({"a":0.3}), &json!({"multipleOf":0.1})).is_ok(), "float steps are tolerant");
        assert_eq!(validate(&json!({"b":"é"}), &s).unwrap_err(), "/b must be at least 2 characters long");
        assert_eq!(validate(&json!({"c":"y"}), &s).unwrap_err(), "/c must be one of \"x\", 1");
        assert_eq!(validate(&json!({"d":0}), &s).unwrap_err(), "/d must be greater than 0");
        assert!(validate(&json!({"e":{"k":[2]}}), &s).is_err());
    }

    #[test]
    fn arrays_tuples_and_combinators() {
        let s = json!({"$defs":{"n":{"type":"number"}},"properties":{
            "list":{"type":"array","items":{"$ref":"#/$defs/n"},"minItems":1,"uniqueItems":true},
            "pair":{"prefixItems":[{"type":"string"}],"items":false},
            "old":{"items":[{"type":"string"}],"additionalItems":{"type":"integer"}},
            "any":{"anyOf":[{"type":"string"},{"type":"null"}]},
            "one":{"oneOf":[{"type":"integer"},{"type":"number"}]},
            "all":{"allOf":[{"minimum":1},{"maximum":2}]},
            "not":{"not":{"type":"string"}},
            "cond":{"if":{"type":"string"},"then":{"minLength":2},"else":{"type":"number"}}
        }});
        assert!(
            validate(
                &json!({"list":[1,2],"pair":["a"],"old":["a",1,2],"any":null,"one":1.5,"all":1.5,"not":1,"cond":"ab"}),
                &s
            )
            .is_ok()
        );
        assert_eq!(validate(&json!({"list":[]}), &s).unwrap_err(), "/list needs at least 1 items");
        assert_eq!(
            validate(&json!({"list":[1,1]}), &s).unwrap_err(),
            "/list item 1 repeats an earlier item (uniqueItems)"
        );
        assert!(validate(&json!({"list": vec![1; 1001]}), &s).is_ok(), "past 1000 items, no pairwise verdict");
        assert_eq!(validate(&json!({"list":["x"]}), &s).unwrap_err(), "/list/0 expected number, got a string");
        assert_eq!(validate(&json!({"pair":["a","b"]}), &s).unwrap_err(), "/pair/1 no value is allowed here");
        assert_eq!(validate(&json!({"old":["a","b"]}), &s).unwrap_err(), "/old/1 expected integer, got a string");
        assert!(validate(&json!({"any":1}), &s).is_err());
        assert_eq!(
            validate(&json!({"one":1}), &s).unwrap_err(),
            "/one must fit exactly one alternative (oneOf), fits 2"
        );
        assert!(validate(&json!({"all":3}), &s).is_err());
        assert!(validate(&json!({"not":"s"}), &s).is_err());
        assert!(validate(&json!({"cond":"a"}), &s).is_err());
        assert!(validate(&json!({"cond":true}), &s).is_err());
    }

    #[test]
    fn what_it_cannot_check_it_lets_through() {
        assert!(validate(&json!("anything"), &json!({"pattern":"^x$","format":"email"})).is_ok());
        assert!(validate(&json!(1), &json!({"$ref":"https://example.com/schema"})).is_ok());
        assert!(
            validate(&json!({"zz":1}), &json!({"patternProperties":{"^z":{}},"additionalProperties":false})).is_ok()
        );
        // A recursive schema and a deep value end within the budget.
        let tree = json!({"$defs":{"t":{"type":"object","properties":{"c":{"type":"array","items":{"$ref":"#/$defs/t"}}}}},"$ref":"#/$defs/t"});
        let mut value = json!({});
        for _ in 0..100 {
            value = json!({"c":[value]});
        }
        assert!(validate(&value, &tree).is_ok());
        assert!(validate(&json!({"c":[{"c":"x"}]}), &tree).is_err());
        assert!(validate(&json!({"k":1}), &json!({"$ref":"#"})).is_ok(), "a self-reference does not loop");
    }

    #[test]
    fn skipped_checks_never_turn_into_refusals() {
        // Formats and patterns are not checked, so both alternatives seem to fit: no verdict, not a refusal.
        let dates = json!({"oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]});
        assert_eq!(validate(&json!("2024-01-01"), &dates), Ok(()));
        assert!(validate(&json!(5), &dates).is_err(), "fitting none is still wrong");
        let not_admin = json!({"type": "string", "not": {"pattern": "^admin"}});
        assert_eq!(validate(&json!("bob"), &not_admin), Ok(()));
        assert_eq!(validate(&json!(1), &json!({"type": "any"})), Ok(()), "an unknown type name");
        let cond = json!({"if": {"pattern": "^a"}, "then": {"minLength": 5}});
        assert_eq!(validate(&json!("ab"), &cond), Ok(()));
        // A recursive oneOf deeper than the depth cut: no false "fits 2" bubbling up.
        let tree = json!({"$defs": {"t": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"w": {"$ref": "#/$defs/t"}}, "required": ["w"]}]}}, "$ref": "#/$defs/t"});
        let mut value = json!("leaf");
        for _ in 0..40 {
            value = json!({"w": value});
        }
        assert_eq!(validate(&value, &tree), Ok(()));
    }

    #[test]
    fn nullability() {
        let root = json!({"$defs":{"maybe":{"type":["string","null"]}}});
        assert!(accepts_null(&json!({"type":["string","null"]}), &root));
        assert!(accepts_null(&json!({"anyOf":[{"type":"string"},{"type":"null"}]}), &root));
        assert!(accepts_null(&json!({"$ref":"#/$defs/maybe"}), &root));
        assert!(accepts_null(&json!({"enum":["a",null]}), &root));
        assert!(!accepts_null(&json!({"type":"string"}), &root));
        assert!(!accepts_null(&json!({"enum":["a"]}), &root));
        assert!(accepts_null(&json!({}), &root), "an empty schema accepts anything");
    }
}
