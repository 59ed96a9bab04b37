use super::*;
use crate::schema::validate::validate;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn strict(schema: Value) -> Strict {
    convert(Some(&schema), false).unwrap()
}

fn reason(schema: Value) -> String {
    convert(Some(&schema), false).unwrap_err()
}

/// The model's arguments (valid for the strict schema) after null removal: what the server gets.
fn to_server(s: &Strict, mut arguments: Value) -> Value {
    assert_eq!(validate(&arguments, &s.schema), Ok(()), "the model's arguments fit the strict schema");
    remove_added_nulls(&mut arguments, &s.schema, &s.nullable);
    arguments
}

#[test]
fn optional_properties_become_nullable_and_their_nulls_are_removed() {
    let original = json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to find"},
            "limit": {"type": "integer", "minimum": 1, "default": 10},
            "status": {"enum": ["open", "closed"]},
            "note": {"type": ["string", "null"]}
        },
        "required": ["query"]
    });
    let s = strict(original.clone());
    assert_eq!(
        s.schema,
        json!({
            "type": "object",
            "properties": {
                "query": {"description": "What to find", "type": "string"},
                "limit": {"minimum": 1, "type": ["integer", "null"], "description": "Default: 10."},
                "status": {"anyOf": [{"enum": ["open", "closed"], "type": "string"}, {"type": "null"}]},
                "note": {"type": ["string", "null"]}
            },
            "required": ["query", "limit", "status", "note"],
            "additionalProperties": false
        })
    );
    assert_eq!(s.nullable, ["/properties/limit", "/properties/status"]);
    // A null for an optional property is removed; a null the original allows is the model's own value.
    let sent = to_server(&s, json!({"query": "vpn", "limit": null, "status": null, "note": null}));
    assert_eq!(sent, json!({"query": "vpn", "note": null}));
    assert_eq!(validate(&sent, &original), Ok(()));
    let sent = to_server(&s, json!({"query": "vpn", "limit": 5, "status": "open", "note": "x"}));
    assert_eq!(sent, json!({"query": "vpn", "limit": 5, "status": "open", "note": "x"}));
}

#[test]
fn nested_objects_arrays_and_definitions_keep_their_optional_fields_optional() {
    let original = json!({
        "type": "object",
        "$defs": {"Person": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name"]}},
        "definitions": {"Tag": {"type": "string", "format": "uri"}},
        "properties": {
            "people": {"type": "array", "items": {"$ref": "#/$defs/Person"}},
            "owner": {"$ref": "#/$defs/Person", "description": "Who owns it"},
            "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}}
        },
        "required": ["people"]
    });
    let s = strict(original.clone());
    assert_eq!(s.schema["$defs"]["Person"]["required"], json!(["name", "age"]));
    assert_eq!(s.schema["$defs"]["Tag"], json!({"type": "string", "description": "Format: uri."}));
    assert_eq!(s.schema["properties"]["tags"]["items"], json!({"$ref": "#/$defs/Tag"}));
    // Strict mode allows nothing beside a $ref: the description goes on the union around it.
    assert_eq!(
        s.schema["properties"]["owner"],
        json!({"anyOf": [{"$ref": "#/$defs/Person"}, {"type": "null"}], "description": "Who owns it"})
    );
    let sent = to_server(
        &s,
        json!({"people": [{"name": "Ada", "age": null}, {"name": "Grace", "age": 85}], "owner": {"name": "Alan", "age": null}, "tags": null}),
    );
    assert_eq!(sent, json!({"people": [{"name": "Ada"}, {"name": "Grace", "age": 85}], "owner": {"name": "Alan"}}));
    assert_eq!(validate(&sent, &original), Ok(()));
}

#[test]
fn recursion_through_defs_and_the_root_is_kept() {
    let original = json!({
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/Node"}, "parent": {"$ref": "#"}},
        "required": ["tree"],
        "$defs": {"Node": {"type": "object", "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}, "required": ["label"]}}
    });
    let s = strict(original.clone());
    assert_eq!(s.schema["$defs"]["Node"]["properties"]["children"]["items"], json!({"$ref": "#/$defs/Node"}));
    assert_eq!(s.schema["properties"]["parent"]["anyOf"][0], json!({"$ref": "#"}));
    let sent = to_server(
        &s,
        json!({"tree": {"label": "a", "children": [{"label": "b", "children": null}]}, "parent": {"tree": {"label": "p", "children": null}, "parent": null}}),
    );
    assert_eq!(sent, json!({"tree": {"label": "a", "children": [{"label": "b"}]}, "parent": {"tree": {"label": "p"}}}));
    assert_eq!(validate(&sent, &original), Ok(()));
}

#[test]
fn unions_pick_the_branch_the_value_took() {
    let original = json!({
        "type": "object",
        "properties": {
            "target": {"anyOf": [
                {"type": "object", "properties": {"email": {"type": "string"}, "cc": {"type": "string"}}, "required": ["email"]},
                {"type": "object", "properties": {"phone": {"type": "string"}, "ext": {"type": "string"}}, "required": ["phone"]}
            ]},
            "shape": {"oneOf": [
                {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}}, "required": ["kind"]},
                {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number"}}, "required": ["kind"]}
            ]}
        },
        "required": ["target", "shape"]
    });
    let s = strict(original.clone());
    assert_eq!(
        s.schema["properties"]["shape"]["anyOf"][0]["properties"]["kind"],
        json!({"enum": ["circle"], "type": "string"})
    );
    let sent = to_server(&s, json!({"target": {"phone": "1", "ext": null}, "shape": {"kind": "square", "side": null}}));
    assert_eq!(sent, json!({"target": {"phone": "1"}, "shape": {"kind": "square"}}));
    assert_eq!(validate(&sent, &original), Ok(()));
}

#[test]
fn all_of_and_draft_4_bounds_are_left_non_strict() {
    assert!(reason(json!({"properties": {"a": {"allOf": [{"type": "string"}]}}})).contains("allOf"));
    let draft4 = json!({"properties": {"n": {"type": "number", "minimum": 0, "exclusiveMinimum": true}}});
    assert_eq!(reason(draft4), "a draft-4 exclusive bound at /properties/n");
}

#[test]
fn no_arguments_and_odd_roots() {
    let empty = json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false});
    assert_eq!(convert(None, false).unwrap().schema, empty);
    assert_eq!(strict(json!({})).schema, empty);
    assert_eq!(strict(json!({"type": "object"})).schema, empty);
    assert_eq!(strict(json!({"type": ["object", "null"], "properties": {}})).schema, empty);
    assert_eq!(convert(Some(&json!(true)), false).unwrap().schema, empty);
    let by_ref = strict(
        json!({"$ref": "#/$defs/Args", "$defs": {"Args": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}),
    );
    assert_eq!(by_ref.schema["properties"]["q"], json!({"type": "string"}));
    assert!(reason(json!({"type": "string"})).contains("not an object"));
    assert!(reason(json!({"anyOf": [{"type": "object"}]})).contains("union"));
    assert!(reason(json!({"type": "object", "additionalProperties": true})).contains("open object"));
}

#[test]
fn what_cannot_be_kept_is_refused_with_a_reason() {
    let cases = [
        (json!({"properties": {"m": {"type": "object", "additionalProperties": {"type": "string"}}}}), "a map"),
        (json!({"properties": {"m": {"type": "object"}}}), "does not list) at /properties/m"),
        (json!({"properties": {"m": {}}}), "accepts any value at /properties/m"),
        (json!({"properties": {"m": true}}), "accepts anything or nothing at /properties/m"),
        (json!({"properties": {"m": {"type": "array"}}}), "items are not one schema"),
        (json!({"properties": {"m": {"type": "string", "minLength": 1}}}), "minLength"),
        (json!({"properties": {"m": {"not": {"type": "string"}}}}), "not, which"),
        (json!({"properties": {"m": {"type": "string", "$ref": "#/$defs/x"}}}), "$ref with 'type'"),
        (json!({"properties": {"m": {"$ref": "https://example.com/s.json"}}}), "never fetched"),
        (json!({"properties": {"m": {"$ref": "#/$defs/missing"}}}), "leads nowhere"),
        (
            json!({"properties": {"m": {"oneOf": [{"type": "string"}, {"type": "string", "format": "email"}]}}}),
            "may overlap",
        ),
        (json!({"properties": {"m": {"$ref": "#/properties/m"}}}), "recursive $ref"),
        (
            json!({"properties": {"m": {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "string"}}}}),
            "prefixItems",
        ),
        (json!({"required": ["ghost"], "properties": {}}), "'ghost' required but not described"),
        (json!({"properties": {"m": {"type": "thing"}}}), "unknown type"),
        (json!({"properties": {"m": {"enum": (0..1001).collect::<Vec<_>>()}}}), "1001 enum values"),
    ];
    for (schema, expected) in cases {
        let got = reason(schema.clone());
        assert!(got.contains(expected), "{schema}: {got}");
    }
    let mut deep = json!({"type": "string"});
    for _ in 0..11 {
        deep = json!({"type": "object", "properties": {"d": deep}, "required": ["d"]});
    }
    assert!(reason(deep).contains("nested 11 deep"));
}

#[test]
fn force_relaxes_constraints_into_the_description() {
    let schema = json!({"properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 5},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
        "meta": {"type": "object", "properties": {"k": {"type": "string"}}, "additionalProperties": true},
        "one": {"oneOf": [{"type": "string"}, {"type": "string", "format": "email"}]}
    }, "required": ["name", "tags", "meta", "one"]});
    let s = convert(Some(&schema), true).unwrap();
    assert_eq!(s.schema["properties"]["name"], json!({"type": "string", "description": "minLength: 1. maxLength: 5."}));
    assert_eq!(s.schema["properties"]["meta"]["additionalProperties"], json!(false));
    assert_eq!(s.relaxed.len(), 4, "{:?}", s.relaxed);
    // Still impossible with force: a map.
    assert!(convert(Some(&json!({"properties": {"m": {"additionalProperties": {"type": "string"}}}})), true).is_err());
}

#[test]
fn draft_4_bounds_consts_and_formats() {
    let s = strict(json!({"properties": {
        "n": {"type": "number", "exclusiveMinimum": 0, "maximum": 9},
        "c": {"const": "fixed"},
        "when": {"type": "string", "format": "date-time"},
        "site": {"type": "string", "format": "uri", "description": "Where"},
        "x": {"type": "string", "title": "X", "examples": ["a"], "x-vendor": 1}
    }, "required": ["n", "c", "when", "site", "x"]}));
    assert_eq!(s.schema["properties"]["n"], json!({"type": "number", "exclusiveMinimum": 0, "maximum": 9}));
    assert_eq!(s.schema["properties"]["c"], json!({"enum": ["fixed"], "type": "string"}));
    assert_eq!(s.schema["properties"]["when"]["format"], "date-time");
    assert_eq!(s.schema["properties"]["site"], json!({"type": "string", "description": "Where Format: uri."}));
    assert_eq!(s.schema["properties"]["x"], json!({"type": "string"}));
}

#[test]
fn escaped_names() {
    let s = strict(
        json!({"properties": {"a/b~c": {"type": "string"}, "d": {"$ref": "#/$defs/x%20y"}}, "$defs": {"x y": {"type": "number"}}}),
    );
    assert_eq!(s.nullable, ["/properties/a~1b~0c", "/properties/d"]);
    let sent = to_server(&s, json!({"a/b~c": null, "d": 1}));
    assert_eq!(sent, json!({"d": 1}));
}

// Native only: debug WebAssembly takes seconds to walk the 20 000 parts (the code is the same).
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_fan_out_of_references_is_refused_within_the_budget() {
    // Inlined, this would be 2^31 parts.
    let mut defs = Map::new();
    for i in 0..30 {
        let next = format!("#/properties/l{}", i + 1);
        defs.insert(
            format!("l{i}"),
            json!({"type": "object", "properties": {"a": {"$ref": next}, "b": {"$ref": next}}}),
        );
    }
    defs.insert("l30".into(), json!({"type": "string"}));
    assert!(reason(json!({"properties": defs})).contains("more than 20000 parts"));
}

#[test]
fn what_the_review_found() {
    // Nesting deeper than strict mode could ever take is refused, not followed until the stack runs out.
    let mut deep = json!({"type": "string"});
    for _ in 0..60 {
        deep = json!({"type": "object", "properties": {"n": deep}, "required": ["n"]});
    }
    assert!(reason(json!({"properties": {"d": deep}})).contains("nested"));
    // Nothing stands beside a $ref, not even when an inlined reference leads to a definition.
    let s = strict(json!({
        "properties": {"a": {"$ref": "#/$defs/X"}, "b": {"$ref": "#/properties/a", "description": "d"}},
        "required": ["a", "b"],
        "$defs": {"X": {"type": "string"}}
    }));
    assert_eq!(s.schema["properties"]["b"], json!({"anyOf": [{"$ref": "#/$defs/X"}], "description": "d"}));
    // Values strict mode cannot take.
    for bad in [
        json!({"enum": "a"}),
        json!({"enum": []}),
        json!({"type": "string", "enum": ["a", 1]}),
        json!({"type": "string", "pattern": 5}),
        json!({"type": "number", "multipleOf": 0}),
        json!({"const": "a", "enum": ["b"]}),
    ] {
        assert!(convert(Some(&json!({"properties": {"x": bad}, "required": ["x"]})), false).is_err(), "{bad}");
    }
    let s = strict(json!({"properties": {"n": {"type": "integer", "format": "date"}}, "required": ["n"]}));
    assert_eq!(s.schema["properties"]["n"], json!({"type": "integer"}), "format only annotates strings");
    // A union beside other constraints: closing both the parent and each alternative would fit nothing.
    let union = json!({"type": "object", "properties": {"kind": {"type": "string"}}, "required": ["kind"],
        "anyOf": [{"properties": {"kind": {"const": "a"}, "x": {"type": "string"}}}]});
    assert!(reason(json!({"properties": {"p": union}, "required": ["p"]})).contains("beside other constraints"));
    // A root $ref beside other keywords would lose them.
    let root = json!({"type": "object", "properties": {"y": {"type": "string"}}, "required": ["y"], "$ref": "#/$defs/A",
        "$defs": {"A": {"type": "object", "properties": {"x": {"type": "string"}}}}});
    assert!(reason(root).contains("$ref beside other keywords"));
    // An optional property that already takes null and has another default: null and omitted would differ.
    let limit = json!({"properties": {"limit": {"type": ["integer", "null"], "default": 10}}});
    assert!(reason(limit).contains("with a default"));
    // Nulls are removed however deep the value goes through a recursive definition.
    let tree = json!({"type": "object", "properties": {"root": {"$ref": "#/$defs/node"}}, "required": ["root"],
        "$defs": {"node": {"type": "object", "properties": {"name": {"type": "string"}, "child": {"$ref": "#/$defs/node"}}, "required": ["name"]}}});
    let s = strict(tree.clone());
    let mut value = json!({"name": "leaf", "child": null});
    for i in 0..40 {
        value = json!({"name": format!("n{i}"), "child": value});
    }
    let sent = to_server(&s, json!({"root": value}));
    assert_eq!(validate(&sent, &tree), Ok(()));
    assert!(!sent.to_string().contains("null"));
}
