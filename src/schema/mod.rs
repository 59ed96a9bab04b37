//! MCP tools → Responses API function tools, and the reverse map that routes a call back to its server.
//!
//! Conversion v1: names made valid and unique ([`names`]), description (else title) capped at a character
//! boundary, the input schema passed on with an object root, and `strict` always sent explicitly (`false`).

pub mod names;

use crate::json::Fields;
use crate::mcp::Tool;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The default cap on descriptions, in characters (OpenAI rejects longer ones on some endpoints).
pub const DEFAULT_MAX_DESCRIPTION_CHARS: usize = 1024;

/// A function tool exactly as the Responses API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionTool {
    /// Always `"function"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The public (model-facing) name.
    pub name: String,
    /// What the tool does.
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    /// Strict mode, always explicit.
    pub strict: bool,
}

/// Where a public function name leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The configured server name.
    pub server: String,
    /// The tool's original MCP name.
    pub tool: String,
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

/// Conversion options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Prefix policy.
    pub prefix: PrefixPolicy,
    /// Description cap in characters.
    pub max_description_chars: usize,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions { prefix: PrefixPolicy::Auto, max_description_chars: DEFAULT_MAX_DESCRIPTION_CHARS }
    }
}

impl ConvertOptions {
    /// Reads `{prefix: "auto" | "always" | "never", maxDescriptionChars}`, ignoring `skip` keys that belong
    /// to the caller.
    pub fn from_json(value: &Value, skip: &[&str]) -> Result<ConvertOptions, String> {
        let f = Fields::new(value, "options")?;
        let mut known = vec!["prefix", "maxDescriptionChars"];
        known.extend_from_slice(skip);
        f.only(&known)?;
        let prefix = match f.string("prefix")?.as_deref() {
            None | Some("auto") => PrefixPolicy::Auto,
            Some("always") => PrefixPolicy::Always,
            Some("never") => PrefixPolicy::Never,
            Some(other) => return Err(format!("options.prefix must be auto, always or never, not '{other}'")),
        };
        let max = f.number("maxDescriptionChars")?.map_or(DEFAULT_MAX_DESCRIPTION_CHARS, |n| n as usize);
        Ok(ConvertOptions { prefix, max_description_chars: max })
    }
}

/// The tools offered to the model, with their routes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Function tools in catalog order (servers in configuration order, tools in server order).
    pub tools: Vec<FunctionTool>,
    /// Public name → (server, original tool name).
    pub routes: BTreeMap<String, Route>,
}

impl Catalog {
    /// Builds the catalog from each server's tools, in the order given.
    pub fn build(servers: &[(String, Vec<Tool>)], options: &ConvertOptions) -> Catalog {
        let prefix = match options.prefix {
            PrefixPolicy::Auto => servers.len() > 1,
            PrefixPolicy::Always => true,
            PrefixPolicy::Never => false,
        };
        let mut names = names::NameAllocator::default();
        let mut catalog = Catalog::default();
        for (server, tools) in servers {
            for tool in tools {
                let name = names.allocate(server, &tool.name, prefix);
                catalog.tools.push(FunctionTool {
                    kind: "function".to_owned(),
                    name: name.clone(),
                    description: cap_chars(tool.best_description(), options.max_description_chars),
                    parameters: parameters(tool.input_schema.as_ref()),
                    strict: false,
                });
                catalog.routes.insert(name, Route { server: server.clone(), tool: tool.name.clone() });
            }
        }
        catalog
    }

    /// Converts the tools of one server given as raw JSON: a `tools/list` result or an array of tools.
    /// Unusable entries are skipped; the returned notes say which and why.
    pub fn from_json(server: &str, tools: &Value, options: &ConvertOptions) -> (Catalog, Vec<String>) {
        let list = tools.get("tools").unwrap_or(tools);
        let mut notes = Vec::new();
        let mut parsed: Vec<Tool> = Vec::new();
        match list.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    match Tool::from_value(item) {
                        Ok(tool) if parsed.iter().any(|t| t.name == tool.name) => {
                            notes.push(format!("tools[{i}]: skipped a second tool named '{}'", tool.name))
                        }
                        Ok(tool) => parsed.push(tool),
                        Err(e) => notes.push(format!("tools[{i}]: skipped: {e}")),
                    }
                }
            }
            None => notes.push("expected an array of tools or a tools/list result".to_owned()),
        }
        (Catalog::build(&[(server.to_owned(), parsed)], options), notes)
    }

    /// Where the function `name` leads, if it is one of ours.
    pub fn resolve(&self, name: &str) -> Option<&Route> {
        self.routes.get(name)
    }
}

/// The schema the model gets: the tool's own, with an object root. A root that is not an object schema (which
/// the API would refuse, failing every request) becomes an empty object schema.
fn parameters(schema: Option<&Value>) -> Value {
    match schema {
        Some(Value::Object(map)) if map.get("type").is_none_or(|t| t == "object") => {
            let mut map = map.clone();
            map.entry("type").or_insert_with(|| json!("object"));
            if map.get("type") == Some(&json!("object")) {
                map.entry("properties").or_insert_with(|| Value::Object(Map::new()));
            }
            Value::Object(map)
        }
        _ => json!({"type": "object", "properties": {}}),
    }
}

/// `text` cut to at most `max` characters, at a character boundary.
pub fn cap_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tool(v: Value) -> Tool {
        Tool::from_value(&v).unwrap()
    }

    #[test]
    fn one_server_keeps_names_and_sends_strict_false() {
        let catalog = Catalog::build(
            &[(
                "everything".into(),
                vec![tool(
                    json!({"name":"get-sum","description":"Adds","inputSchema":{"type":"object","properties":{"a":{"type":"number"}},"required":["a"]}}),
                )],
            )],
            &ConvertOptions::default(),
        );
        let json = serde_json::to_value(&catalog.tools[0]).unwrap();
        assert_eq!(
            json,
            json!({"type":"function","name":"get-sum","description":"Adds","parameters":{"type":"object","properties":{"a":{"type":"number"}},"required":["a"]},"strict":false})
        );
        assert_eq!(catalog.resolve("get-sum"), Some(&Route { server: "everything".into(), tool: "get-sum".into() }));
        assert_eq!(catalog.resolve("nope"), None);
    }

    #[test]
    fn several_servers_are_prefixed_and_routed_back() {
        let servers = vec![
            ("hr".to_owned(), vec![tool(json!({"name":"lookup.person"}))]),
            ("it desk".to_owned(), vec![tool(json!({"name":"lookup.person"}))]),
        ];
        let catalog = Catalog::build(&servers, &ConvertOptions::default());
        let names: Vec<_> = catalog.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["hr__lookup_person", "it_desk__lookup_person"]);
        assert_eq!(catalog.resolve("it_desk__lookup_person").unwrap().tool, "lookup.person");
        assert_eq!(catalog.resolve("it_desk__lookup_person").unwrap().server, "it desk");
    }

    #[test]
    fn schemas_get_an_object_root_and_descriptions_a_cap() {
        assert_eq!(parameters(None), json!({"type":"object","properties":{}}));
        assert_eq!(parameters(Some(&json!(true))), json!({"type":"object","properties":{}}));
        assert_eq!(parameters(Some(&json!({"type":"string"}))), json!({"type":"object","properties":{}}));
        assert_eq!(parameters(Some(&json!({"type":["object","null"]}))), json!({"type":"object","properties":{}}));
        assert_eq!(parameters(Some(&json!({"properties":{"x":{}}}))), json!({"properties":{"x":{}},"type":"object"}));
        let long = "é".repeat(2000);
        let catalog = Catalog::build(
            &[("s".into(), vec![tool(json!({"name":"t","description":long}))])],
            &ConvertOptions::default(),
        );
        assert_eq!(catalog.tools[0].description.chars().count(), DEFAULT_MAX_DESCRIPTION_CHARS);
    }

    #[test]
    fn converts_raw_json_with_notes() {
        let (catalog, notes) = Catalog::from_json(
            "crm",
            &json!({"tools":[{"name":"a"},{"name":""},{"name":"a"}],"nextCursor":"x"}),
            &ConvertOptions::default(),
        );
        assert_eq!(catalog.tools.len(), 1);
        assert_eq!(catalog.resolve("a").unwrap().server, "crm");
        assert_eq!(notes.len(), 2);
        let (empty, notes) = Catalog::from_json("crm", &json!("nope"), &ConvertOptions::default());
        assert!(empty.tools.is_empty() && notes.len() == 1);
    }

    #[test]
    fn keeps_schema_key_order() {
        let schema = json!({"type":"object","properties":{"zeta":{},"alpha":{}}});
        let out = parameters(Some(&schema));
        let keys: Vec<_> = out["properties"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["zeta", "alpha"]);
    }
}
