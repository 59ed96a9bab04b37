//! MCP tools → Responses API function tools, and the reverse map that routes a call back to its server.
//!
//! Names are made valid, unique and stable ([`names`]); descriptions are the description (else the title),
//! optionally labelled with the server, capped at a character boundary; parameters are converted to strict
//! mode where that keeps what the tool accepts ([`strict`]), else sent as they are with `strict: false`;
//! arguments coming back are checked against the tool's own schema ([`validate`]). A tool whose schema is too
//! deep, too large or loops ([`bounds`]) is left out with a note.

mod bounds;
pub(crate) mod control;
pub(crate) mod names;
pub(crate) mod strict;
pub(crate) mod validate;

use crate::base::json::{self, Fields};
use crate::base::text::cap_chars;
use crate::wire::mcp::Tool;
use crate::wire::responses::ToolList;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};
use std::sync::{Arc, OnceLock};

/// The key of a tool in the JSON maps kept per tool: `["server","tool"]`. (JSON maps, because another map type
/// would cost kilobytes of WebAssembly.)
pub(crate) fn tool_key(server: &str, tool: &str) -> String {
    json::text(&[server, tool])
}

/// How many names handed out the catalog remembers (see `Catalog::given`).
pub(crate) const MAX_NAMES_KEPT: usize = 50_000;

/// The default cap on descriptions, in characters (OpenAI rejects longer ones on some endpoints).
pub(crate) const DEFAULT_MAX_DESCRIPTION_CHARS: usize = 1024;

/// A function tool exactly as the Responses API takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTool {
    /// Always `"function"`.
    pub kind: &'static str,
    /// The public (model-facing) name.
    pub name: String,
    /// What the tool does.
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    /// Strict mode, always explicit.
    pub strict: bool,
}

/// When tool names carry their server's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrefixPolicy {
    /// Only when more than one server is configured.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never (collisions still get unique names).
    Never,
}

/// When tools go out in strict mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StrictMode {
    /// Strict whenever that keeps what the tool accepts; otherwise not, with the reason in the notes.
    #[default]
    Auto,
    /// Strict wherever possible, dropping constraints strict mode lacks (the arguments are still checked).
    Force,
    /// Never: schemas go out as the server wrote them.
    Off,
}

/// Conversion options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Prefix policy.
    pub prefix: PrefixPolicy,
    /// Description cap in characters.
    pub max_description_chars: usize,
    /// Strict mode.
    pub strict: StrictMode,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            prefix: PrefixPolicy::Auto,
            max_description_chars: DEFAULT_MAX_DESCRIPTION_CHARS,
            strict: StrictMode::Auto,
        }
    }
}

impl ConvertOptions {
    /// The option keys the conversion reads.
    pub const KEYS: &'static [&'static str] = &["toolPrefix", "maxDescriptionChars", "strict"];

    /// Reads `{toolPrefix: "auto" | "always" | "never", maxDescriptionChars, strict: "auto" | true | false}`
    /// from an object whose other keys the caller checks.
    pub(crate) fn read(f: &Fields) -> Result<ConvertOptions, String> {
        let prefixes = [("auto", PrefixPolicy::Auto), ("always", PrefixPolicy::Always), ("never", PrefixPolicy::Never)];
        let prefix = f.choice("toolPrefix", &prefixes)?.unwrap_or(PrefixPolicy::Auto);
        let strict = match f.value("strict") {
            None => StrictMode::Auto,
            Some(Value::String(s)) if s == "auto" => StrictMode::Auto,
            Some(Value::Bool(true)) => StrictMode::Force,
            Some(Value::Bool(false)) => StrictMode::Off,
            Some(other) => return Err(format!("strict must be 'auto', true or false, not {other}")),
        };
        let max = match f.number("maxDescriptionChars")? {
            None => DEFAULT_MAX_DESCRIPTION_CHARS,
            Some(n) if n >= 1 => n as usize,
            Some(_) => return Err("maxDescriptionChars must be at least 1".into()),
        };
        Ok(ConvertOptions { prefix, max_description_chars: max, strict })
    }
}

/// `toFunctionTools` and `mcp-loop convert`: converts one server's tools given as raw JSON (a `tools/list`
/// result or an array of tools) with `options` `{server, toolPrefix, maxDescriptionChars, strict}`, and gives
/// the JSON text of `{tools, routes: {name: {server, tool}}, notes}`.
pub fn convert_json(tools: Value, options: &Value) -> Result<String, String> {
    let f = Fields::new(options, "options")?;
    let mut known = vec!["server"];
    known.extend_from_slice(ConvertOptions::KEYS);
    f.only(&known)?;
    let server = f.string("server")?.unwrap_or_else(|| "default".to_owned());
    let catalog = Catalog::from_json(&server, tools, &ConvertOptions::read(&f)?);
    let (tools, routes, notes) =
        (catalog.functions().text(), json::text(&Routes(&catalog.tools)), json::text(&catalog.notes));
    Ok(format!(r#"{{"tools":{tools},"routes":{routes},"notes":{notes}}}"#))
}

/// The routes of `convert_json`: `{name: {server, tool}}`.
struct Routes<'a>(&'a [CatalogTool]);

#[derive(serde::Serialize)]
struct Route<'a> {
    server: &'a str,
    tool: &'a str,
}

impl<'a> Serialize for Routes<'a> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let route = |t: &'a CatalogTool| (t.function.name.as_str(), Route { server: &t.server, tool: &t.tool });
        serializer.collect_map(self.0.iter().map(route))
    }
}

/// One server's tools, as the catalog takes them.
#[derive(Debug, Clone, Default)]
pub struct ServerTools {
    /// The configured server name.
    pub server: String,
    /// Put in front of each description (`[label] …`), to tell the model where a tool comes from.
    pub label: Option<String>,
    /// The tools, in the server's order.
    pub tools: Vec<Tool>,
}

/// One tool in the catalog: what the model sees and what a call needs on the way back.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogTool {
    /// The function tool the model gets.
    pub function: FunctionTool,
    /// The configured server name.
    pub server: String,
    /// The tool's original MCP name.
    pub tool: String,
    /// The tool's own input schema when strict mode rewrote it (otherwise the parameters are that schema).
    pub original: Option<Value>,
    /// Where strict mode made optional properties nullable (JSON pointers into the parameters).
    pub nullable: Vec<String>,
    /// Why the tool is not strict, or what strict mode gave up.
    pub note: Option<String>,
    /// The server's `annotations`, verbatim (hints, untrusted).
    pub annotations: Option<Value>,
}

impl CatalogTool {
    /// The arguments as the server should get them: the nulls strict mode asked for are removed again.
    pub fn server_arguments(&self, mut arguments: Value) -> Value {
        strict::remove_added_nulls(&mut arguments, &self.function.parameters, &self.nullable);
        arguments
    }

    /// The schema arguments are checked against: the tool's own.
    pub fn input_schema(&self) -> &Value {
        self.original.as_ref().unwrap_or(&self.function.parameters)
    }

    /// Annotation `key` when it is a boolean, else MCP's default for it.
    pub fn hint(&self, key: &str) -> bool {
        let default = key == "destructiveHint" || key == "openWorldHint";
        self.annotations.as_ref().and_then(|a| a.get(key)).and_then(Value::as_bool).unwrap_or(default)
    }

    /// Whether running the call twice does no harm (annotated read-only or idempotent).
    pub fn retry_safe(&self) -> bool {
        self.hint("readOnlyHint") || self.hint("idempotentHint")
    }

    /// Whether the call may destroy something (not read-only, and not annotated `destructiveHint: false`).
    pub fn destructive(&self) -> bool {
        !self.hint("readOnlyHint") && self.hint("destructiveHint")
    }
}

/// The tools offered to the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// In catalog order: servers in configuration order, tools in server order.
    tools: Vec<CatalogTool>,
    /// What the model does not get as the server wrote it: skipped tools, tools not made strict, and why.
    pub notes: Vec<String>,
    /// Every name handed out in the life of the agent, by `[server, tool]`: a name never moves to another tool,
    /// even after its tool was removed or blocked.
    given: Map<String, Value>,
    /// The function tools as the request's `tools` list, made once when first asked for.
    functions: OnceLock<Arc<ToolList>>,
}

impl Catalog {
    /// Builds the catalog. Tools that `previous` already named keep their names, so a list that changes
    /// during a run never moves a name to another tool.
    pub fn build(servers: Vec<ServerTools>, options: &ConvertOptions, previous: Option<&Catalog>) -> Catalog {
        let prefix = match options.prefix {
            PrefixPolicy::Auto => servers.len() > 1,
            PrefixPolicy::Always => true,
            PrefixPolicy::Never => false,
        };
        let mut catalog =
            Catalog { given: previous.map(|p| p.given.clone()).unwrap_or_default(), ..Catalog::default() };
        if catalog.given.len() > MAX_NAMES_KEPT {
            // A server that keeps renaming its tools must not grow this without end: past the bound, only the
            // names of the tools offered now are kept.
            let current: Map<String, Value> = previous
                .into_iter()
                .flat_map(|p| &p.tools)
                .map(|t| (tool_key(&t.server, &t.tool), Value::from(t.function.name.as_str())))
                .collect();
            catalog.given = current;
        }
        let mut names = names::NameAllocator::default();
        for name in catalog.given.values().filter_map(Value::as_str) {
            names.reserve(name);
        }
        for s in servers {
            let label = s.label.as_deref();
            for tool in s.tools {
                if tool.task_support.as_deref() == Some("required") {
                    catalog.notes.push(format!("{}: hidden: it can only run as a task", tool.name));
                    continue;
                }
                if let Some(why) = tool.input_schema.as_ref().and_then(bounds::unusable) {
                    catalog.notes.push(format!("{}: skipped: {why}", tool.name));
                    continue;
                }
                let key = tool_key(&s.server, &tool.name);
                let name = match catalog.given.get(&key).and_then(Value::as_str) {
                    Some(name) => name.to_owned(),
                    None => names.allocate(&s.server, &tool.name, prefix),
                };
                catalog.given.insert(key, Value::from(name.as_str()));
                let converted = convert(&s.server, label, tool, name, options);
                if let Some(note) = &converted.note {
                    catalog.notes.push(format!("{}: {note}", converted.function.name));
                }
                catalog.tools.push(converted);
            }
        }
        catalog
    }

    /// Converts the tools of one server given as raw JSON: a `tools/list` result or an array of tools.
    /// Unusable entries are skipped with a note.
    pub fn from_json(server: &str, tools: Value, options: &ConvertOptions) -> Catalog {
        let list = match tools {
            Value::Object(mut result) => result.remove("tools").unwrap_or_default(),
            other => other,
        };
        let mut notes = Vec::new();
        let mut parsed: Vec<Tool> = Vec::new();
        let mut seen = Map::new();
        match list {
            Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    match Tool::from_value(item) {
                        Ok(tool) if seen.insert(tool.name.clone(), Value::Null).is_some() => {
                            notes.push(format!("tools[{i}]: skipped a second tool named '{}'", tool.name))
                        }
                        Ok(tool) => parsed.push(tool),
                        Err(e) => notes.push(format!("tools[{i}]: skipped: {e}")),
                    }
                }
            }
            _ => notes.push("expected an array of tools or a tools/list result".to_owned()),
        }
        let servers = vec![ServerTools { server: server.to_owned(), label: None, tools: parsed }];
        let mut catalog = Catalog::build(servers, options, None);
        notes.append(&mut catalog.notes);
        catalog.notes = notes;
        catalog
    }

    /// The tools, in catalog order.
    pub fn tools(&self) -> &[CatalogTool] {
        &self.tools
    }

    /// The tool the function `name` stands for, if it is one of ours.
    pub fn resolve(&self, name: &str) -> Option<&CatalogTool> {
        self.tools.iter().find(|t| t.function.name == name)
    }

    /// The function tools, as the request's `tools` list.
    pub fn functions(&self) -> &Arc<ToolList> {
        self.functions
            .get_or_init(|| Arc::new(ToolList::new(&self.tools.iter().map(|t| &t.function).collect::<Vec<_>>())))
    }

    /// Leaves out the tool `tool` of `server` (a blocked definition change); says so in the notes.
    pub fn remove(&mut self, server: &str, tool: &str, why: &str) {
        if let Some(i) = self.tools.iter().position(|t| t.server == server && t.tool == tool) {
            let removed = self.tools.remove(i);
            self.functions = OnceLock::new();
            self.notes.push(format!("{}: hidden: {why}", removed.function.name));
        }
    }
}

impl Serialize for FunctionTool {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("type", self.kind)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("description", &self.description)?;
        map.serialize_entry("parameters", &self.parameters)?;
        map.serialize_entry("strict", &self.strict)?;
        map.end()
    }
}

fn convert(server: &str, label: Option<&str>, tool: Tool, name: String, options: &ConvertOptions) -> CatalogTool {
    let mut description = tool.best_description().to_owned();
    if let Some(label) = label {
        description = if description.is_empty() { format!("[{label}]") } else { format!("[{label}] {description}") };
    }
    let strict = match options.strict {
        StrictMode::Off => Err(None),
        mode => strict::convert(tool.input_schema.as_ref(), mode == StrictMode::Force).map_err(Some),
    };
    let (parameters, original, nullable, note) = match strict {
        Ok(s) => {
            let note = (!s.relaxed.is_empty()).then(|| format!("strict, relaxing {}", s.relaxed.join("; ")));
            (s.schema, Some(tool.input_schema.unwrap_or_else(|| json!({}))), s.nullable, note)
        }
        Err(why) => (parameters(tool.input_schema), None, Vec::new(), why.map(|why| format!("not strict: {why}"))),
    };
    let chars = description.chars().count();
    let cut = (chars > options.max_description_chars)
        .then(|| format!("description cut to {} of its {chars} characters", options.max_description_chars));
    let note = match (note, cut) {
        (Some(note), Some(cut)) => Some(format!("{note}; {cut}")),
        (note, cut) => note.or(cut),
    };
    CatalogTool {
        function: FunctionTool {
            kind: "function",
            name,
            description: cap_chars(&description, options.max_description_chars),
            strict: original.is_some(),
            parameters,
        },
        server: server.to_owned(),
        tool: tool.name,
        original,
        nullable,
        note,
        annotations: tool.annotations,
    }
}

/// The schema the model gets without strict mode: the tool's own, with an object root (a root that is not an
/// object schema, which the API would refuse, becomes an empty object schema) and an `items` on every array
/// (the API refuses arrays without one, even outside strict mode; an empty `items` changes nothing).
fn parameters(schema: Option<Value>) -> Value {
    let object = |t: &Value| t == "object" || t.as_array().is_some_and(|ts| ts.iter().any(|t| t == "object"));
    let mut root = match schema {
        Some(Value::Object(mut map)) if map.get("type").is_none_or(object) => {
            // The arguments are always an object: `["object", "null"]` is an object root.
            map.insert("type".into(), json!("object"));
            map.entry("properties").or_insert_with(|| Value::Object(Map::new()));
            Value::Object(map)
        }
        _ => return json!({"type": "object", "properties": {}}),
    };
    give_arrays_items(&mut root, 0);
    root
}

fn give_arrays_items(schema: &mut Value, depth: usize) {
    let Value::Object(map) = schema else { return };
    if depth > 64 {
        return;
    }
    let is_array = match map.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "array"),
        _ => false,
    };
    if is_array && !map.contains_key("items") && !map.contains_key("prefixItems") {
        map.insert("items".into(), json!({}));
    }
    for (key, value) in map.iter_mut() {
        match (key.as_str(), value) {
            ("properties" | "$defs" | "definitions" | "patternProperties", Value::Object(children)) => {
                children.values_mut().for_each(|c| give_arrays_items(c, depth + 1))
            }
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(children)) => {
                children.iter_mut().for_each(|c| give_arrays_items(c, depth + 1))
            }
            ("items" | "additionalProperties" | "not" | "if" | "then" | "else", child) => {
                give_arrays_items(child, depth + 1)
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tool(v: Value) -> Tool {
        Tool::from_value(v).unwrap()
    }

    fn one(server: &str, tools: Vec<Value>) -> ServerTools {
        ServerTools { server: server.into(), label: None, tools: tools.into_iter().map(tool).collect() }
    }

    fn options(strict: StrictMode) -> ConvertOptions {
        ConvertOptions { strict, ..ConvertOptions::default() }
    }

    #[test]
    fn one_server_keeps_names_and_goes_strict_when_it_can() {
        let sum = json!({"name":"get-sum","description":"Adds","inputSchema":{"type":"object","properties":{"a":{"type":"number"}},"required":["a"]}});
        let catalog = Catalog::build(vec![one("everything", vec![sum.clone()])], &ConvertOptions::default(), None);
        assert_eq!(
            serde_json::to_value(&catalog.tools[0].function).unwrap(),
            json!({"type":"function","name":"get-sum","description":"Adds","parameters":{"type":"object","properties":{"a":{"type":"number"}},"required":["a"],"additionalProperties":false},"strict":true})
        );
        let route = catalog.resolve("get-sum").unwrap();
        assert_eq!((route.server.as_str(), route.tool.as_str()), ("everything", "get-sum"));
        assert_eq!(catalog.resolve("nope"), None);
        let off = Catalog::build(vec![one("everything", vec![sum])], &options(StrictMode::Off), None);
        assert_eq!(
            serde_json::to_value(&off.tools[0].function).unwrap(),
            json!({"type":"function","name":"get-sum","description":"Adds","parameters":{"type":"object","properties":{"a":{"type":"number"}},"required":["a"]},"strict":false})
        );
    }

    #[test]
    fn a_tool_that_cannot_be_strict_goes_as_it_is_with_a_note() {
        let map = json!({"name":"tag","inputSchema":{"type":"object","properties":{"labels":{"type":"object","additionalProperties":{"type":"string"}},"ids":{"type":"array"}}}});
        let catalog = Catalog::build(vec![one("crm", vec![map])], &ConvertOptions::default(), None);
        let t = &catalog.tools[0];
        assert!(!t.function.strict);
        assert_eq!(t.function.parameters["properties"]["ids"], json!({"type":"array","items":{}}), "arrays get items");
        assert_eq!(
            catalog.notes,
            [
                "tag: not strict: a map (additionalProperties with a schema), which strict mode cannot express at /properties/labels"
            ]
        );
    }

    #[test]
    fn several_servers_are_prefixed_labelled_and_routed_back() {
        let mut servers = [
            one("hr", vec![json!({"name":"lookup.person","description":"Finds"})]),
            one("it desk", vec![json!({"name":"lookup.person"})]),
        ];
        servers[0].label = Some("HR directory".into());
        let catalog = Catalog::build(servers.to_vec(), &ConvertOptions::default(), None);
        let names: Vec<_> = catalog.tools.iter().map(|t| t.function.name.as_str()).collect();
        assert_eq!(names, ["hr__lookup_person", "it_desk__lookup_person"]);
        assert_eq!(catalog.tools[0].function.description, "[HR directory] Finds");
        let route = catalog.resolve("it_desk__lookup_person").unwrap();
        assert_eq!((route.server.as_str(), route.tool.as_str()), ("it desk", "lookup.person"));
        let never = ConvertOptions { prefix: PrefixPolicy::Never, ..ConvertOptions::default() };
        let catalog = Catalog::build(servers.to_vec(), &never, None);
        assert_eq!(catalog.tools[0].function.name, "lookup_person");
        assert!(catalog.tools[1].function.name.starts_with("lookup_person_"));
    }

    #[test]
    fn names_survive_a_changed_list() {
        let first = Catalog::build(
            vec![one("s", vec![json!({"name":"a.b"}), json!({"name":"a_b"}), json!({"name":"files.delete"})])],
            &ConvertOptions::default(),
            None,
        );
        let second_name = first.tools[1].function.name.clone();
        assert!(second_name.starts_with("a_b_"));
        assert_eq!(first.tools[2].function.name, "files_delete");
        // The server drops `a.b` and `files.delete` and adds `files_delete`: `a_b` keeps its hashed name, and
        // no name moves to another tool, not even the name of a tool that is gone.
        let servers = vec![one("s", vec![json!({"name":"a_b"}), json!({"name":"files_delete"})])];
        let second = Catalog::build(servers, &ConvertOptions::default(), Some(&first));
        assert_eq!(second.tools[0].function.name, second_name);
        assert_ne!(second.tools[1].function.name, "files_delete");
        assert!(second.tools[1].function.name.starts_with("files_delete_"));
        // And a tool that comes back gets its old name again.
        let third = Catalog::build(
            vec![one("s", vec![json!({"name":"files.delete"})])],
            &ConvertOptions::default(),
            Some(&second),
        );
        assert_eq!(third.tools[0].function.name, "files_delete");
    }

    #[test]
    fn descriptions_fall_back_to_titles_and_are_capped() {
        let long = "é".repeat(2000);
        let catalog = Catalog::build(
            vec![one(
                "s",
                vec![
                    json!({"name":"t","description":long}),
                    json!({"name":"u","title":"Look up"}),
                    json!({"name":"v","execution":{"taskSupport":"required"}}),
                ],
            )],
            &ConvertOptions { max_description_chars: 1024, ..ConvertOptions::default() },
            None,
        );
        assert_eq!(catalog.tools[0].function.description.chars().count(), 1024);
        assert_eq!(catalog.tools[1].function.description, "Look up");
        assert_eq!(catalog.tools.len(), 2, "a task-only tool is hidden");
        assert_eq!(
            catalog.notes,
            ["t: description cut to 1024 of its 2000 characters", "v: hidden: it can only run as a task"]
        );
    }

    #[test]
    fn converts_raw_json_with_notes() {
        let catalog = Catalog::from_json(
            "crm",
            json!({"tools":[{"name":"a"},{"name":""},{"name":"a"}],"nextCursor":"x"}),
            &ConvertOptions::default(),
        );
        assert_eq!(catalog.tools.len(), 1);
        assert_eq!(catalog.resolve("a").unwrap().server, "crm");
        assert_eq!(catalog.notes.len(), 2);
        let empty = Catalog::from_json("crm", json!("nope"), &ConvertOptions::default());
        assert!(empty.tools.is_empty() && empty.notes.len() == 1);
    }

    #[test]
    fn odd_roots_become_object_schemas() {
        assert_eq!(parameters(None), json!({"type":"object","properties":{}}));
        assert_eq!(parameters(Some(json!(true))), json!({"type":"object","properties":{}}));
        assert_eq!(parameters(Some(json!({"type":"string"}))), json!({"type":"object","properties":{}}));
        assert_eq!(
            parameters(Some(json!({"type":["object","null"],"properties":{"a":{}}}))),
            json!({"type":"object","properties":{"a":{}}}),
            "a nullable object root keeps its properties"
        );
        assert_eq!(parameters(Some(json!({"properties":{"x":{}}}))), json!({"properties":{"x":{}},"type":"object"}));
        let schema = json!({"type":"object","properties":{"zeta":{},"alpha":{}}});
        let keys: Vec<_> = parameters(Some(schema))["properties"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["zeta", "alpha"], "key order is kept");
    }

    #[test]
    fn the_nulls_strict_mode_asked_for_are_removed_before_the_call() {
        let t = json!({"name":"find","inputSchema":{"type":"object","properties":{"q":{"type":"string"},"limit":{"type":"integer"}},"required":["q"]}});
        let catalog = Catalog::build(vec![one("s", vec![t])], &ConvertOptions::default(), None);
        let find = catalog.resolve("find").unwrap();
        assert_eq!(find.server_arguments(json!({"q":"x","limit":null})), json!({"q":"x"}));
    }
}
