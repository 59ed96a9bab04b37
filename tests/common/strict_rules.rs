//! An independent checker for OpenAI Responses function tools, above all the strict-mode (Structured Outputs)
//! schema subset. It is written from the documentation and from observed API errors, not from the converter, so
//! that the corpus tests compare two readings of the rules.
//!
//! Sources (cited next to each rule below):
//! - [docs] OpenAI "Structured Outputs → Supported schemas" (platform.openai.com/docs/guides/structured-outputs,
//!   now developers.openai.com/api/docs/guides/structured-outputs), summarised in
//!   `/work/shared/reference/protocols.md` §2.7.
//! - [sdk] `openai/openai-python` `src/openai/lib/_pydantic.py` (`to_strict_json_schema`): it inlines every `$ref`
//!   that has siblings, and keeps Pydantic's `title` on every node.
//! - [err] Real 400 messages quoted in public issues: "array schema missing items" (mark3labs/mcphost#35),
//!   "schema must have a 'type' key" (apexive/odoo-llm#212), "'required' is required to be supplied and to be an
//!   array including every key in properties" (vercel/ai#6484), "$ref cannot have keywords {'description'}"
//!   (defog-ai/defog#244 on Responses, camel-ai/camel#3001 on Azure), name pattern (openai/openai-dotnet#441),
//!   description length 1024 (getsentry/sentry-mcp#106).
//!
//! Where a source is silent the checker flags the keyword (the conservative side): the converter should strip it.
#![allow(dead_code)]

use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Tool name length limit (Chat Completions docs; protocols.md §2.2 recommends it for Responses too).
pub const MAX_NAME_CHARS: usize = 64;
/// Description length limit observed in real errors [err]; counted in characters, not bytes.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// [docs] size limits of a strict schema.
pub const MAX_PROPERTIES: usize = 5000;
pub const MAX_OBJECT_DEPTH: usize = 10;
pub const MAX_STRING_CHARS: usize = 120_000;
pub const MAX_ENUM_VALUES: usize = 1000;
pub const LARGE_ENUM_VALUES: usize = 250;
pub const LARGE_ENUM_CHARS: usize = 15_000;
/// Not an API rule: stops the walk before a pathological input overflows the stack.
const MAX_WALK_DEPTH: usize = 200;

/// [docs] the only `format` values strict mode accepts.
pub const STRING_FORMATS: &[&str] =
    &["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"];
/// [docs] supported types; `null` is how optional fields are emulated.
const TYPES: &[&str] = &["string", "number", "boolean", "integer", "object", "array", "null"];

/// Keywords allowed on any node. `title` is not on the docs' list, but [sdk] sends Pydantic's `title`s in strict
/// requests. `const` is not on the list either, but [docs] counts "const values" in the 120,000-character limit.
const GENERIC_KEYWORDS: &[&str] =
    &["type", "description", "title", "enum", "const", "anyOf", "$ref", "$defs", "definitions"];
const OBJECT_KEYWORDS: &[&str] = &["properties", "required", "additionalProperties"];
/// [docs] string: `pattern`, `format`. number: the five below. array: `minItems`, `maxItems`.
const STRING_KEYWORDS: &[&str] = &["pattern", "format"];
const NUMBER_KEYWORDS: &[&str] = &["multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"];
const ARRAY_KEYWORDS: &[&str] = &["items", "minItems", "maxItems"];

/// Why a keyword outside the allowed lists is flagged.
fn unsupported_reason(keyword: &str) -> &'static str {
    match keyword {
        "allOf" | "not" | "if" | "then" | "else" | "dependentRequired" | "dependentSchemas" => {
            "documented as unsupported"
        }
        "oneOf" => "not supported (only anyOf is); convert to anyOf",
        // The docs list these only as "not supported for fine-tuned models", never as supported: ambiguous.
        "minLength" | "maxLength" | "patternProperties" => "not on the supported list (conservative)",
        // openai/openai-agents-python#4390: rejected on Azure; #4529 strips non-null defaults.
        "default" => "not on the supported list; rejected by Azure (conservative)",
        _ => "not on the supported list (conservative)",
    }
}

/// Every rule `tool` breaks, each as "<JSON pointer>: <message>". Empty means the tool is acceptable.
pub fn violations(tool: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = tool.as_object() else {
        return vec!["(root): a tool must be a JSON object".to_string()];
    };
    if obj.get("type").and_then(Value::as_str) != Some("function") {
        out.push("/type: must be \"function\"".to_string());
    }
    check_name(obj.get("name"), &mut out);
    check_description(obj.get("description"), &mut out);
    let strict = match obj.get("strict") {
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            out.push("/strict: must be a boolean".to_string());
            false
        }
        // protocols.md §2.2: the Responses default differs between sources, so it must always be explicit.
        None => {
            out.push("/strict: must be present (the Responses default is ambiguous)".to_string());
            false
        }
    };
    match obj.get("parameters") {
        Some(params) if params.get("type").and_then(Value::as_str) == Some("object") => {
            if strict {
                out.extend(schema_violations_at(params, "/parameters"));
            }
        }
        Some(_) => out.push("/parameters: must be an object schema with \"type\": \"object\"".to_string()),
        None => out.push("/parameters: missing".to_string()),
    }
    out
}

/// The strict-mode rules alone, for a bare `parameters` schema; paths are relative to it.
pub fn strict_schema_violations(schema: &Value) -> Vec<String> {
    schema_violations_at(schema, "")
}

fn check_name(name: Option<&Value>, out: &mut Vec<String>) {
    let Some(name) = name.and_then(Value::as_str) else {
        out.push("/name: must be a string".to_string());
        return;
    };
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_CHARS {
        out.push(format!("/name: length {len} is outside 1..={MAX_NAME_CHARS}"));
    }
    // [err] openai/openai-dotnet#441: '^[a-zA-Z0-9_-]+$'.
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        out.push(format!("/name: character {bad:?} does not match ^[a-zA-Z0-9_-]+$"));
    }
}

fn check_description(description: Option<&Value>, out: &mut Vec<String>) {
    // The OpenAPI spec makes it optional, but this project always sends one (protocols.md part 3 §2).
    let Some(text) = description.and_then(Value::as_str) else {
        out.push("/description: must be a string".to_string());
        return;
    };
    let len = text.chars().count();
    if len > MAX_DESCRIPTION_CHARS {
        out.push(format!("/description: {len} characters exceeds {MAX_DESCRIPTION_CHARS}"));
    }
}

fn schema_violations_at(schema: &Value, base: &str) -> Vec<String> {
    let mut checker = Checker { root: schema, out: Vec::new(), properties: 0, enum_values: 0, string_chars: 0 };
    checker.root_rules(schema, base);
    checker.walk(schema, base, 0);
    checker.limits(base);
    checker.out
}

/// Walks the literal schema tree once. `$ref`s are resolved but never followed, so recursion cannot loop and
/// every definition is checked exactly once (where it is written).
struct Checker<'a> {
    root: &'a Value,
    out: Vec<String>,
    properties: usize,
    enum_values: usize,
    string_chars: usize,
}

impl<'a> Checker<'a> {
    fn flag(&mut self, path: &str, message: impl AsRef<str>) {
        let at = if path.is_empty() { "(root)" } else { path };
        self.out.push(format!("{at}: {}", message.as_ref()));
    }

    /// [docs] the root must be a plain object: not anyOf, not nullable (openai-agents also rejects nullable).
    fn root_rules(&mut self, schema: &Value, path: &str) {
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            self.flag(path, "the root must have \"type\": \"object\" (a single type, not nullable)");
        }
        if schema.get("anyOf").is_some() {
            self.flag(path, "the root must not be anyOf");
        }
    }

    fn walk(&mut self, node: &'a Value, path: &str, level: usize) {
        if level > MAX_WALK_DEPTH {
            self.flag(path, format!("nested deeper than {MAX_WALK_DEPTH} schema levels; not checked further"));
            return;
        }
        let Some(obj) = node.as_object() else {
            self.flag(path, "a schema must be a JSON object (boolean schemas are not allowed in strict mode)");
            return;
        };
        self.keywords(obj, path);
        let types = self.types(obj, path);
        if types.is_none() && !obj.contains_key("anyOf") && !obj.contains_key("$ref") {
            // [err] "schema must have a 'type' key"; enum/const without type are flagged too (conservative).
            self.flag(path, "a schema must have a `type` (or be `anyOf` or `$ref`)");
        }
        let types = types.unwrap_or_default();
        self.text_keyword(obj, "description", path);
        self.text_keyword(obj, "title", path);
        if obj.contains_key("$ref") {
            self.reference(obj, path);
        }
        if let Some(values) = obj.get("enum") {
            self.enumeration(values, &types, path);
        }
        if let Some(value) = obj.get("const") {
            self.constant(value, &types, path);
        }
        self.string_rules(obj, &types, path);
        self.number_rules(obj, &types, path);
        if is_object_node(obj, &types) {
            self.object(obj, &types, path, level);
        }
        if types.contains(&"array") || obj.contains_key("items") {
            self.array(obj, &types, path, level);
        }
        if let Some(branches) = obj.get("anyOf") {
            self.any_of(branches, path, level);
        }
        for key in ["$defs", "definitions"] {
            if let Some(defs) = obj.get(key) {
                self.definitions(defs, &child(path, key), level);
            }
        }
    }

    fn keywords(&mut self, obj: &Map<String, Value>, path: &str) {
        let allowed = [GENERIC_KEYWORDS, OBJECT_KEYWORDS, STRING_KEYWORDS, NUMBER_KEYWORDS, ARRAY_KEYWORDS];
        for key in obj.keys() {
            if !allowed.iter().any(|list| list.contains(&key.as_str())) {
                self.flag(path, format!("unsupported keyword `{key}`: {}", unsupported_reason(key)));
            }
        }
        // [err] "$ref cannot have keywords {'description'}"; [sdk] inlines any `$ref` that has siblings.
        if obj.contains_key("$ref") && obj.len() > 1 {
            let siblings: Vec<&str> = obj.keys().map(String::as_str).filter(|k| *k != "$ref").collect();
            self.flag(path, format!("`$ref` must stand alone, found siblings {siblings:?}"));
        }
    }

    /// The declared types, or None when `type` is absent or malformed (malformed is flagged).
    fn types(&mut self, obj: &'a Map<String, Value>, path: &str) -> Option<Vec<&'a str>> {
        let at = child(path, "type");
        let names: Vec<&Value> = match obj.get("type")? {
            Value::String(_) => vec![&obj["type"]],
            Value::Array(items) if !items.is_empty() => items.iter().collect(),
            _ => {
                self.flag(&at, "must be a type name or a non-empty array of type names");
                return None;
            }
        };
        let mut types = Vec::new();
        for name in names {
            match name.as_str() {
                Some(t) if TYPES.contains(&t) && !types.contains(&t) => types.push(t),
                Some(t) if TYPES.contains(&t) => self.flag(&at, format!("duplicate type {t:?}")),
                _ => self.flag(&at, format!("unsupported type {name}")),
            }
        }
        Some(types)
    }

    fn text_keyword(&mut self, obj: &Map<String, Value>, key: &str, path: &str) {
        if obj.get(key).is_some_and(|v| !v.is_string()) {
            self.flag(&child(path, key), "must be a string");
        }
    }

    /// Only local references into the same root, in the forms the docs show.
    fn reference(&mut self, obj: &Map<String, Value>, path: &str) {
        let at = child(path, "$ref");
        let Some(reference) = obj.get("$ref").and_then(Value::as_str) else {
            self.flag(&at, "must be a string");
            return;
        };
        let local = reference == "#" || reference.starts_with("#/$defs/") || reference.starts_with("#/definitions/");
        if !local {
            self.flag(&at, format!("{reference:?} is not `#`, `#/$defs/…` or `#/definitions/…`"));
            return;
        }
        match resolve(self.root, reference) {
            Some(Value::Object(_)) => {}
            Some(_) => self.flag(&at, format!("{reference:?} does not point to a schema object")),
            None => self.flag(&at, format!("{reference:?} does not resolve within the schema")),
        }
    }

    fn enumeration(&mut self, values: &Value, types: &[&str], path: &str) {
        let at = child(path, "enum");
        let Some(values) = values.as_array().filter(|v| !v.is_empty()) else {
            self.flag(&at, "must be a non-empty array");
            return;
        };
        self.enum_values += values.len();
        let mut chars = 0;
        for value in values {
            chars += value_chars(value);
            self.value_fits_types(value, types, &at, "enum value");
        }
        self.string_chars += chars;
        self.null_reachable(types, values.iter().any(Value::is_null), &at);
        // [docs] one string enum with more than 250 values must total at most 15,000 characters.
        if values.len() > LARGE_ENUM_VALUES && values.iter().all(Value::is_string) && chars > LARGE_ENUM_CHARS {
            let n = values.len();
            self.flag(&at, format!("{n} string values total {chars} characters, over {LARGE_ENUM_CHARS}"));
        }
    }

    fn constant(&mut self, value: &Value, types: &[&str], path: &str) {
        self.string_chars += value_chars(value);
        let at = child(path, "const");
        self.value_fits_types(value, types, &at, "const value");
        self.null_reachable(types, value.is_null(), &at);
    }

    /// Not an API rule but a conversion bug: a nullable type whose enum/const excludes null can never be null,
    /// so an originally optional property could not be left out.
    fn null_reachable(&mut self, types: &[&str], allows_null: bool, path: &str) {
        if types.contains(&"null") && !allows_null {
            self.flag(path, "the type allows null but this keyword does not, so null can never be sent");
        }
    }

    /// A value the declared type excludes can never be produced: for a nullable enum this means `null` is not
    /// really allowed, which breaks the "omit optional fields as null" scheme.
    fn value_fits_types(&mut self, value: &Value, types: &[&str], path: &str, what: &str) {
        if value.is_object() || value.is_array() {
            self.flag(path, format!("{what} {value} is not a scalar (conservative)"));
        } else if !types.is_empty() && !types.iter().any(|t| matches_type(value, t)) {
            self.flag(path, format!("{what} {value} does not match type {types:?}"));
        }
    }

    fn string_rules(&mut self, obj: &Map<String, Value>, types: &[&str], path: &str) {
        self.needs_type(obj, STRING_KEYWORDS, types, &["string"], path);
        if obj.get("pattern").is_some_and(|p| !p.is_string()) {
            self.flag(&child(path, "pattern"), "must be a string");
        }
        if let Some(format) = obj.get("format") {
            if !format.as_str().is_some_and(|f| STRING_FORMATS.contains(&f)) {
                self.flag(&child(path, "format"), format!("{format} is not one of {STRING_FORMATS:?}"));
            }
        }
    }

    fn number_rules(&mut self, obj: &Map<String, Value>, types: &[&str], path: &str) {
        self.needs_type(obj, NUMBER_KEYWORDS, types, &["number", "integer"], path);
        for key in NUMBER_KEYWORDS {
            // Draft-04's boolean exclusiveMinimum/Maximum are not JSON Schema 2020-12 and are flagged.
            if obj.get(*key).is_some_and(|v| !v.is_number()) {
                self.flag(&child(path, key), "must be a number");
            }
        }
        if obj.get("multipleOf").and_then(Value::as_f64).is_some_and(|m| m <= 0.0) {
            self.flag(&child(path, "multipleOf"), "must be greater than 0");
        }
    }

    /// Type-specific keywords on a node whose declared types cannot use them.
    fn needs_type(&mut self, obj: &Map<String, Value>, keys: &[&str], types: &[&str], wanted: &[&str], path: &str) {
        if types.is_empty() || types.iter().any(|t| wanted.contains(t)) {
            return;
        }
        for key in keys.iter().filter(|k| obj.contains_key(**k)) {
            self.flag(&child(path, key), format!("applies to {wanted:?} but the type is {types:?}"));
        }
    }

    /// [docs] every object: `additionalProperties: false`, all properties required. [err] `required` must be
    /// supplied. `properties` is demanded even when empty (conservative; openai-agents emits `properties: {}`).
    fn object(&mut self, obj: &'a Map<String, Value>, types: &[&str], path: &str, level: usize) {
        if !types.contains(&"object") {
            self.flag(path, "object keywords on a schema whose type does not include \"object\"");
        }
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            self.flag(&child(path, "additionalProperties"), "must be present and false");
        }
        let properties = match obj.get("properties") {
            Some(Value::Object(map)) => Some(map),
            Some(_) => {
                self.flag(&child(path, "properties"), "must be an object");
                None
            }
            None => {
                self.flag(&child(path, "properties"), "must be present (use {} for none)");
                None
            }
        };
        self.required(obj.get("required"), properties, &child(path, "required"));
        let at = child(path, "properties");
        for (name, schema) in properties.into_iter().flatten() {
            self.properties += 1;
            self.string_chars += name.chars().count();
            self.walk(schema, &child(&at, name), level + 1);
        }
    }

    fn required(&mut self, required: Option<&Value>, properties: Option<&Map<String, Value>>, path: &str) {
        let empty = Map::new();
        let properties = properties.unwrap_or(&empty);
        let Some(list) = required.and_then(Value::as_array) else {
            self.flag(path, "must be present and an array listing every property");
            return;
        };
        let mut seen = HashSet::new();
        for entry in list {
            match entry.as_str() {
                Some(name) if !seen.insert(name) => self.flag(path, format!("{name:?} is listed twice")),
                Some(name) if !properties.contains_key(name) => {
                    self.flag(path, format!("{name:?} is not a property"));
                }
                Some(_) => {}
                None => self.flag(path, format!("{entry} is not a string")),
            }
        }
        for name in properties.keys().filter(|k| !seen.contains(k.as_str())) {
            self.flag(path, format!("property {name:?} is missing (strict mode requires every property)"));
        }
    }

    /// [err] "array schema missing items"; the tuple form of `items` is not a schema.
    fn array(&mut self, obj: &'a Map<String, Value>, types: &[&str], path: &str, level: usize) {
        if !types.is_empty() && !types.contains(&"array") {
            self.flag(&child(path, "items"), format!("applies to [\"array\"] but the type is {types:?}"));
        }
        match obj.get("items") {
            Some(items) => self.walk(items, &child(path, "items"), level + 1),
            None => self.flag(path, "an array schema must have `items`"),
        }
        let min = self.count_keyword(obj, "minItems", path);
        let max = self.count_keyword(obj, "maxItems", path);
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                self.flag(path, format!("minItems {min} is greater than maxItems {max}"));
            }
        }
    }

    fn count_keyword(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<u64> {
        let value = obj.get(key)?;
        let count = value.as_u64();
        if count.is_none() {
            self.flag(&child(path, key), "must be a non-negative integer");
        }
        count
    }

    /// [docs] every branch must itself be a valid strict schema.
    fn any_of(&mut self, branches: &'a Value, path: &str, level: usize) {
        let at = child(path, "anyOf");
        match branches.as_array() {
            Some(list) if !list.is_empty() => {
                for (i, branch) in list.iter().enumerate() {
                    self.walk(branch, &child(&at, &i.to_string()), level + 1);
                }
            }
            _ => self.flag(&at, "must be a non-empty array of schemas"),
        }
    }

    fn definitions(&mut self, defs: &'a Value, path: &str, level: usize) {
        let Some(map) = defs.as_object() else {
            self.flag(path, "must be an object of named schemas");
            return;
        };
        for (name, schema) in map {
            self.string_chars += name.chars().count();
            self.walk(schema, &child(path, name), level + 1);
        }
    }

    /// [docs] the whole-schema limits.
    fn limits(&mut self, path: &str) {
        if self.properties > MAX_PROPERTIES {
            self.flag(path, format!("{} object properties in total, over {MAX_PROPERTIES}", self.properties));
        }
        if self.enum_values > MAX_ENUM_VALUES {
            self.flag(path, format!("{} enum values in total, over {MAX_ENUM_VALUES}", self.enum_values));
        }
        if self.string_chars > MAX_STRING_CHARS {
            let n = self.string_chars;
            self.flag(path, format!("names, enum and const values total {n} characters, over {MAX_STRING_CHARS}"));
        }
        let depth = object_depth(self.root);
        if depth > MAX_OBJECT_DEPTH {
            self.flag(path, format!("{depth} levels of object nesting, over {MAX_OBJECT_DEPTH}"));
        }
    }
}

/// An object schema: declares type object, or uses an object keyword (so a type-less `properties` is caught).
fn is_object_node(obj: &Map<String, Value>, types: &[&str]) -> bool {
    types.contains(&"object") || OBJECT_KEYWORDS.iter().any(|k| obj.contains_key(*k))
}

fn matches_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.as_i64().is_some() || value.as_u64().is_some() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => false,
    }
}

/// Characters a value contributes to the 120,000 budget: a string's own length, otherwise its JSON text.
fn value_chars(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        other => other.to_string().chars().count(),
    }
}

/// Resolves a local `$ref` (`#` or `#/…`, with `~0`/`~1` escapes) within `root`.
pub fn resolve<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// Appends one JSON-pointer segment, escaping `~` and `/`.
fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The deepest chain of object schemas, following `$ref`s. A reference back into a schema already on the
/// current chain counts nothing more: the docs allow recursion, so only the written nesting is limited.
pub fn object_depth(root: &Value) -> usize {
    let mut walker = DepthWalker { root, stack: Vec::new(), memo: HashMap::new() };
    walker.stack.push("#".to_string());
    let mut deepest = walker.depth(root, 0);
    // Definitions nobody references still count, measured from their own start.
    for key in ["$defs", "definitions"] {
        if let Some(defs) = root.get(key).and_then(Value::as_object) {
            for name in defs.keys() {
                let reference = format!("#/{key}/{}", name.replace('~', "~0").replace('/', "~1"));
                deepest = deepest.max(walker.through_ref(&reference, 0));
            }
        }
    }
    deepest
}

struct DepthWalker<'a> {
    root: &'a Value,
    stack: Vec<String>,
    memo: HashMap<String, usize>,
}

impl DepthWalker<'_> {
    fn depth(&mut self, node: &Value, level: usize) -> usize {
        let Some(obj) = node.as_object() else { return 0 };
        if level > MAX_WALK_DEPTH {
            return 0;
        }
        let own = usize::from(is_object_node(obj, &declared_types(obj)));
        let mut below = 0;
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for schema in props.values() {
                below = below.max(self.depth(schema, level + 1));
            }
        }
        if let Some(items) = obj.get("items") {
            below = below.max(self.depth(items, level + 1));
        }
        if let Some(branches) = obj.get("anyOf").and_then(Value::as_array) {
            for branch in branches {
                below = below.max(self.depth(branch, level + 1));
            }
        }
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            below = below.max(self.through_ref(reference, level + 1));
        }
        own + below
    }

    fn through_ref(&mut self, reference: &str, level: usize) -> usize {
        if self.stack.iter().any(|r| r == reference) {
            return 0;
        }
        if let Some(known) = self.memo.get(reference) {
            return *known;
        }
        let Some(target) = resolve(self.root, reference) else { return 0 };
        self.stack.push(reference.to_string());
        let depth = self.depth(target, level);
        self.stack.pop();
        self.memo.insert(reference.to_string(), depth);
        depth
    }
}

fn declared_types(obj: &Map<String, Value>) -> Vec<&str> {
    match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}
