//! Proves the strict-mode checker in `tests/common/strict_rules.rs` catches each class of violation and accepts
//! schemas written the way the OpenAI docs describe.

#[path = "common/strict_rules.rs"]
mod strict_rules;

use serde_json::{Value, json};
use strict_rules::{strict_schema_violations, violations};

fn tool(parameters: Value) -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather.", "parameters": parameters, "strict": true})
}

fn object(properties: Value) -> Value {
    let required: Vec<String> = properties.as_object().unwrap().keys().cloned().collect();
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

#[track_caller]
fn assert_clean(tool: &Value) {
    let found = violations(tool);
    assert!(found.is_empty(), "expected no violations, got {found:#?}");
}

/// At least one violation mentions every fragment (path and message pieces).
#[track_caller]
fn assert_flags(found: &[String], fragments: &[&str]) {
    assert!(
        found.iter().any(|v| fragments.iter().all(|f| v.contains(f))),
        "expected a violation containing {fragments:?}, got {found:#?}"
    );
}

#[test]
fn accepts_documented_shapes() {
    // The function tool example of protocols.md §2.2.
    assert_clean(&tool(object(json!({"location": {"type": "string"}}))));
    // Definitions reused from an array, as in the docs' "steps" example.
    let mut params = object(
        json!({"steps": {"type": "array", "items": {"$ref": "#/$defs/step"}}, "final_answer": {"type": "string"}}),
    );
    params["$defs"] = json!({"step": object(json!({"explanation": {"type": "string"}, "output": {"type": "string"}}))});
    assert_clean(&tool(params));
    // Root recursion with `$ref: "#"`.
    assert_clean(&tool(object(
        json!({"value": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}),
    )));
    // An empty argument list.
    assert_clean(&tool(object(json!({}))));
}

#[test]
fn accepts_every_supported_keyword() {
    let params = object(json!({
        "note": {"type": ["string", "null"], "description": "Optional.", "title": "Note"},
        "unit": {"type": ["string", "null"], "enum": ["c", "f", null]},
        "kind": {"type": "string", "const": "fixed"},
        "when": {"type": "string", "format": "date-time"},
        "handle": {"type": "string", "pattern": "^@[a-z]+$"},
        "ratio": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.25},
        "count": {"type": ["integer", "null"], "exclusiveMinimum": 0, "maximum": 10},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 5},
        "choice": {"anyOf": [object(json!({"a": {"type": "boolean"}})), {"type": "null"}]},
        "legacy": {"$ref": "#/definitions/legacy"}
    }));
    let mut params = params;
    params["definitions"] = json!({"legacy": {"type": "integer"}});
    assert_clean(&tool(params));
}

#[test]
fn non_strict_tools_only_get_the_basic_checks() {
    let params = json!({"type": "object", "properties": {"q": {"type": "string", "minLength": 1}}, "required": []});
    let mut t = tool(params);
    t["strict"] = json!(false);
    assert_clean(&t);
}

#[test]
fn flags_tool_level_fields() {
    let found =
        violations(&json!({"type": "custom", "name": "srv.tool", "description": 7, "parameters": {"type": "array"}}));
    assert_flags(&found, &["/type", "function"]);
    assert_flags(&found, &["/name", "'.'"]);
    assert_flags(&found, &["/description", "string"]);
    assert_flags(&found, &["/strict", "present"]);
    assert_flags(&found, &["/parameters", "\"type\": \"object\""]);
    assert_flags(&violations(&json!("tool")), &["JSON object"]);

    let mut t = tool(object(json!({})));
    t["name"] = json!("n".repeat(65));
    t["strict"] = json!("yes");
    assert_flags(&violations(&t), &["/name", "65"]);
    assert_flags(&violations(&t), &["/strict", "boolean"]);
    t["name"] = json!("");
    assert_flags(&violations(&t), &["/name", "length 0"]);
}

#[test]
fn description_limit_counts_characters_not_bytes() {
    let mut t = tool(object(json!({})));
    t["description"] = json!("é".repeat(1024));
    assert_clean(&t);
    t["description"] = json!("e".repeat(1025));
    assert_flags(&violations(&t), &["/description", "1025"]);
}

#[test]
fn flags_open_objects() {
    let params = json!({"type": "object", "properties": {
        "a": {"type": "object", "properties": {}, "required": []},
        "b": {"type": "object", "properties": {}, "required": [], "additionalProperties": true},
        "c": {"type": "object", "properties": {}, "required": [], "additionalProperties": {"type": "string"}}
    }, "required": ["a", "b", "c"]});
    let found = violations(&tool(params));
    assert_flags(&found, &["/parameters/additionalProperties", "false"]);
    for p in ["a", "b", "c"] {
        assert_flags(&found, &[&format!("/parameters/properties/{p}/additionalProperties"), "false"]);
    }
}

#[test]
fn flags_required_mismatches() {
    let params = json!({"type": "object", "additionalProperties": false, "properties": {
        "x": {"type": "string"}, "y": {"type": "string"},
        "z": {"type": "object", "properties": {"w": {"type": "string"}}, "additionalProperties": false},
        "v": {"type": ["object", "null"], "additionalProperties": false, "required": []}
    }, "required": ["x", "ghost", "x", "z", "v"]});
    let found = violations(&tool(params));
    assert_flags(&found, &["/parameters/required", "\"y\" is missing"]);
    assert_flags(&found, &["/parameters/required", "\"ghost\" is not a property"]);
    assert_flags(&found, &["/parameters/required", "twice"]);
    assert_flags(&found, &["/parameters/properties/z/required", "must be present"]);
    assert_flags(&found, &["/parameters/properties/v/properties", "must be present"]);
}

#[test]
fn flags_bad_roots() {
    let branch = object(json!({"a": {"type": "string"}}));
    let found = strict_schema_violations(&json!({"anyOf": [branch.clone(), branch]}));
    assert_flags(&found, &["(root)", "must not be anyOf"]);
    let mut nullable = object(json!({}));
    nullable["type"] = json!(["object", "null"]);
    assert_flags(&strict_schema_violations(&nullable), &["(root)", "not nullable"]);
    assert_flags(
        &violations(&tool(json!({"$ref": "#/$defs/a", "$defs": {"a": object(json!({}))}}))),
        &["/parameters", "object schema"],
    );
}

#[test]
fn flags_unsupported_keywords() {
    let params = object(json!({
        "a": {"type": "string", "minLength": 1, "maxLength": 9, "default": "x", "examples": ["x"]},
        "b": {"allOf": [{"type": "string"}]},
        "c": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "d": {"type": "string", "not": {"const": "x"}},
        "e": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "contains": {"type": "string"}},
        "f": {"type": "object", "properties": {}, "required": [], "additionalProperties": false, "patternProperties": {}},
        "g": {"type": "string", "if": {"type": "string"}, "then": {"type": "string"}, "else": {"type": "string"}}
    }));
    let mut params = params;
    params["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    let found = violations(&tool(params));
    for keyword in [
        "minLength",
        "maxLength",
        "default",
        "examples",
        "allOf",
        "oneOf",
        "not",
        "uniqueItems",
        "contains",
        "patternProperties",
        "if",
        "then",
        "else",
        "$schema",
    ] {
        assert_flags(&found, &[&format!("`{keyword}`")]);
    }
    assert_flags(&found, &["/parameters/properties/b", "documented as unsupported"]);
    assert_flags(&found, &["/parameters/properties/b", "must have a `type`"]);
}

#[test]
fn flags_bad_keyword_values_and_types() {
    let params = object(json!({
        "a": {"type": "string", "format": "uri"},
        "b": {"type": "integer", "pattern": "^1"},
        "c": {"type": "string", "minimum": 3},
        "d": {"type": "text"},
        "e": {"type": []},
        "f": {"type": ["string", "string"]},
        "g": {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 1},
        "h": {"type": "number", "multipleOf": 0},
        "i": {"type": "string", "enum": []},
        "j": {"type": "string", "enum": ["a", null]},
        "k": {"type": "integer", "const": "one"},
        "l": {"type": "string", "description": 5},
        "m": {"type": ["string", "null"], "enum": ["a", "b"]},
        "n": {"type": ["string", "null"], "const": "a"}
    }));
    let found = violations(&tool(params));
    assert_flags(&found, &["/properties/a/format", "\"uri\""]);
    assert_flags(&found, &["/properties/b/pattern", "[\"string\"]"]);
    assert_flags(&found, &["/properties/c/minimum", "[\"number\", \"integer\"]"]);
    assert_flags(&found, &["/properties/d/type", "unsupported type"]);
    assert_flags(&found, &["/properties/e/type", "non-empty"]);
    assert_flags(&found, &["/properties/f/type", "duplicate"]);
    assert_flags(&found, &["/properties/g", "minItems 3 is greater than maxItems 1"]);
    assert_flags(&found, &["/properties/h/multipleOf", "greater than 0"]);
    assert_flags(&found, &["/properties/i/enum", "non-empty"]);
    assert_flags(&found, &["/properties/j/enum", "null does not match"]);
    assert_flags(&found, &["/properties/k/const", "does not match"]);
    assert_flags(&found, &["/properties/l/description", "string"]);
    assert_flags(&found, &["/properties/m/enum", "null can never be sent"]);
    assert_flags(&found, &["/properties/n/const", "null can never be sent"]);
}

#[test]
fn flags_bad_refs() {
    let mut params = object(json!({
        "remote": {"$ref": "https://example.com/schema.json"},
        "missing": {"$ref": "#/$defs/nope"},
        "annotated": {"$ref": "#/$defs/name", "description": "The name."},
        "inner": {"$ref": "#/properties/remote"},
        "numeric": {"$ref": 5}
    }));
    params["$defs"] = json!({"name": {"type": "string"}});
    let found = violations(&tool(params));
    assert_flags(&found, &["/properties/remote/$ref", "is not `#`"]);
    assert_flags(&found, &["/properties/missing/$ref", "does not resolve"]);
    assert_flags(&found, &["/properties/annotated", "must stand alone", "description"]);
    assert_flags(&found, &["/properties/inner/$ref", "is not `#`"]);
    assert_flags(&found, &["/properties/numeric/$ref", "must be a string"]);
}

#[test]
fn flags_non_schemas_where_schemas_belong() {
    let mut params = object(json!({
        "yes": true,
        "list": {"type": "array", "items": false},
        "tuple": {"type": "array", "items": [{"type": "string"}]},
        "bare": {"type": "array"},
        "union": {"anyOf": []}
    }));
    params["$defs"] = json!({"odd": 3});
    let found = violations(&tool(params));
    assert_flags(&found, &["/properties/yes", "boolean schemas"]);
    assert_flags(&found, &["/properties/list/items", "boolean schemas"]);
    assert_flags(&found, &["/properties/tuple/items", "JSON object"]);
    assert_flags(&found, &["/properties/bare", "must have `items`"]);
    assert_flags(&found, &["/properties/union/anyOf", "non-empty"]);
    assert_flags(&found, &["/$defs/odd", "JSON object"]);
    // Paths escape `/` and `~` in property names.
    let found = violations(&tool(object(json!({"a/b~c": {"type": "text"}}))));
    assert_flags(&found, &["/properties/a~1b~0c/type"]);
}

#[test]
fn anyof_branches_are_checked_like_any_schema() {
    let params = object(json!({"u": {"anyOf": [
        {"type": "object", "properties": {"a": {"type": "string"}}},
        {"type": "string", "minLength": 2},
        {"type": "null"}
    ]}}));
    let found = violations(&tool(params));
    assert_flags(&found, &["/properties/u/anyOf/0/additionalProperties"]);
    assert_flags(&found, &["/properties/u/anyOf/0/required"]);
    assert_flags(&found, &["/properties/u/anyOf/1", "`minLength`"]);
}

/// `depth` objects nested through a property named `n`.
fn nested(depth: usize) -> Value {
    let mut schema = object(json!({"leaf": {"type": "string"}}));
    for _ in 1..depth {
        schema = object(json!({"n": schema}));
    }
    schema
}

#[test]
fn enforces_size_limits() {
    assert_clean(&tool(nested(10)));
    assert_flags(&violations(&tool(nested(11))), &["11 levels of object nesting"]);

    let many: serde_json::Map<String, Value> = (0..5001).map(|i| (format!("p{i}"), json!({"type": "null"}))).collect();
    assert_flags(&violations(&tool(object(Value::Object(many)))), &["5001 object properties"]);

    let values: Vec<String> = (0..1001).map(|i| format!("v{i}")).collect();
    let found = violations(&tool(object(json!({"e": {"type": "string", "enum": values}}))));
    assert_flags(&found, &["1001 enum values"]);

    // 300 values of 51 characters: 15,300 > 15,000 for one enum of more than 250 strings.
    let long: Vec<String> = (0..300).map(|i| format!("{i:051}")).collect();
    let found = violations(&tool(object(json!({"e": {"type": "string", "enum": long}}))));
    assert_flags(&found, &["/properties/e/enum", "300 string values total 15300"]);
    // 250 such values is allowed.
    let ok: Vec<String> = (0..250).map(|i| format!("{i:051}")).collect();
    assert_clean(&tool(object(json!({"e": {"type": "string", "enum": ok}}))));

    // Property names, definition names and const values share the 120,000-character budget.
    let names: serde_json::Map<String, Value> =
        (0..4).map(|i| (format!("{i}{}", "n".repeat(29_999)), json!({"type": "string", "const": "abc"}))).collect();
    assert_flags(&violations(&tool(object(Value::Object(names)))), &["total 120012 characters"]);
}

#[test]
fn depth_follows_refs_and_recursion_terminates() {
    // Mutual recursion through definitions: checked once, no loop, no violation.
    let mut params = object(json!({"a": {"$ref": "#/$defs/a"}}));
    params["$defs"] = json!({
        "a": object(json!({"b": {"anyOf": [{"$ref": "#/$defs/b"}, {"type": "null"}]}})),
        "b": object(json!({"a": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "null"}]}, "self": {"$ref": "#"}}))
    });
    assert_clean(&tool(params));

    // A chain of 11 objects spread over definitions is as deep as if it were written inline.
    let mut defs = serde_json::Map::new();
    for i in 0..10 {
        let next = if i == 9 { json!({"type": "string"}) } else { json!({"$ref": format!("#/$defs/d{}", i + 1)}) };
        defs.insert(format!("d{i}"), object(json!({"next": next})));
    }
    let mut params = object(json!({"start": {"$ref": "#/$defs/d0"}}));
    params["$defs"] = Value::Object(defs);
    assert_flags(&violations(&tool(params)), &["11 levels of object nesting"]);
}
