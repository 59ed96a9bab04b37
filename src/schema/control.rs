//! What the application lets into the catalog: per-server allow and deny lists, and a watch on tool
//! definitions, so that a server cannot swap what a tool does after it was first offered (and approved).

use super::{Catalog, CatalogTool, MAX_NAMES_KEPT, tool_key};
use crate::base::json;
use serde_json::{Map, Value};

/// Which tools of a server the model may see: names or `*` globs. Deny wins over allow; an empty allow list
/// allows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolFilter {
    /// Only these (when not empty).
    pub allow: Vec<String>,
    /// Never these.
    pub deny: Vec<String>,
}

impl ToolFilter {
    /// True when the tool `name` may be offered.
    pub fn allows(&self, name: &str) -> bool {
        (self.allow.is_empty() || self.allow.iter().any(|g| glob(g, name))) && !self.deny.iter().any(|g| glob(g, name))
    }
}

/// `*` matches any run of characters (including none); everything else matches itself.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// What happens when a server changes a tool's definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ToolChanges {
    /// Use the new definition (the application still gets a `toolChanged` event).
    Accept,
    /// Use the new definition and warn.
    #[default]
    Warn,
    /// Hide the tool while its definition differs from the first one seen.
    Block,
}

/// The definitions first seen, per tool (see `tool_key`), for the life of the agent. They are kept whole and
/// compared exactly, not by a hash: a server that wants to swap a tool's meaning controls the new definition,
/// and could craft one whose (non-cryptographic) hash matches. They are kept as JSON text (one string per
/// tool, not a copy of every schema value); where the texts differ the values are compared, so key order does
/// not count (JSON objects compare as maps), and a server that reorders its JSON has not changed its tool.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    /// The text of `[description, input schema, annotations]` as first seen (or last accepted).
    seen: Map<String, Value>,
    /// Tools hidden by `block`.
    blocked: Map<String, Value>,
    /// How many tools are watched at most.
    limit: usize,
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline { seen: Map::new(), blocked: Map::new(), limit: MAX_NAMES_KEPT }
    }
}

/// A definition change the baseline found, for the agent to tell the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolChange {
    /// The server's configured name.
    pub server: String,
    /// The tool's MCP name.
    pub tool: String,
    /// Hidden while its definition differs (`block`); otherwise the new definition is used.
    pub blocked: bool,
}

/// What the model and the user rely on: the description the model reads, the schema the server takes, and the
/// annotations that decide approvals.
struct Definition<'a>(&'a str, &'a Value, &'a Value);

impl<'a> Definition<'a> {
    fn of(tool: &'a CatalogTool) -> Self {
        const NONE: &Value = &Value::Null;
        Definition(&tool.function.description, tool.input_schema(), tool.annotations.as_ref().unwrap_or(NONE))
    }

    fn to_text(&self) -> String {
        json::text(&(self.0, self.1, self.2))
    }

    /// Whether `seen` (a `to_text`) is this definition: the same text, or the same values in another order.
    fn matches(&self, now: &str, seen: &Value) -> bool {
        let Some(seen) = seen.as_str() else { return false };
        seen == now
            || matches!(serde_json::from_slice::<Value>(seen.as_bytes()).ok().as_ref().and_then(Value::as_array).map(Vec::as_slice),
                Some([d, schema, annotations]) if d.as_str() == Some(self.0) && schema == self.1 && annotations == self.2)
    }
}

impl Baseline {
    /// Compares a fresh catalog with the definitions seen before, applies `policy`, and says what changed.
    pub(crate) fn review(&mut self, catalog: &mut Catalog, policy: ToolChanges) -> Vec<ToolChange> {
        let mut changes = Vec::new();
        let mut hide = Vec::new();
        let mut unseen = Vec::new();
        for tool in &catalog.tools {
            let key = tool_key(&tool.server, &tool.tool);
            let definition = Definition::of(tool);
            let now = definition.to_text();
            let unchanged = match self.seen.get(&key) {
                Some(first) => definition.matches(&now, first),
                // Past the bound, new tools are not taken: forgetting old definitions to make room would let a
                // server that floods it with names come back with a changed tool as if it were new.
                None if self.seen.len() >= self.limit => {
                    unseen.push((tool.server.clone(), tool.tool.clone()));
                    continue;
                }
                None => {
                    self.seen.insert(key, Value::String(now));
                    continue;
                }
            };
            if unchanged {
                self.blocked.remove(&key);
                continue;
            }
            let (server, name) = (tool.server.clone(), tool.tool.clone());
            match policy {
                ToolChanges::Block => {
                    if self.blocked.insert(key, Value::Bool(true)).is_none() {
                        changes.push(ToolChange { server: server.clone(), tool: name.clone(), blocked: true });
                    }
                    hide.push((server, name));
                }
                ToolChanges::Accept | ToolChanges::Warn => {
                    self.seen.insert(key, Value::String(now));
                    changes.push(ToolChange { server, tool: name, blocked: false });
                }
            }
        }
        for (server, tool) in hide {
            catalog.remove(&server, &tool, "its definition changed since it was first listed");
        }
        for (server, tool) in unseen {
            catalog.remove(&server, &tool, "its server has offered too many different tools to watch another");
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ConvertOptions, ServerTools};
    use crate::wire::mcp::Tool;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn globs_and_filters() {
        assert!(glob("*", "anything") && glob("get_*", "get_user") && glob("*_user", "get_user"));
        assert!(glob("a*b*c", "aXbYc") && glob("a*b*c", "abc") && !glob("a*b*c", "acb"));
        assert!(!glob("get_*", "set_user") && !glob("exact", "exactly") && glob("exact", "exact"));
        assert!(!glob("ab*ba", "aba"), "the parts may not overlap");
        let filter = ToolFilter { allow: vec!["read_*".into(), "list".into()], deny: vec!["*secret*".into()] };
        assert!(filter.allows("read_file") && filter.allows("list"));
        assert!(!filter.allows("write_file") && !filter.allows("read_secret_key"));
        assert!(ToolFilter::default().allows("x"));
    }

    fn catalog(description: &str) -> Catalog {
        let tool = Tool::from_value(json!({"name": "pay", "description": description})).unwrap();
        let servers = [ServerTools { server: "bank".into(), label: None, tools: vec![tool] }];
        Catalog::build(servers.to_vec(), &ConvertOptions::default(), None)
    }

    #[test]
    fn a_changed_definition_is_reported_and_the_policy_applies() {
        let mut baseline = Baseline::default();
        assert!(baseline.review(&mut catalog("Pays an invoice"), ToolChanges::Block).is_empty());
        let mut changed = catalog("Pays an invoice to any account");
        let changes = baseline.review(&mut changed, ToolChanges::Block);
        assert_eq!(changes, [ToolChange { server: "bank".into(), tool: "pay".into(), blocked: true }]);
        assert!(changed.tools.is_empty() && changed.notes[0].contains("definition changed"));
        // Still changed on the next listing: still hidden, said once.
        assert!(baseline.review(&mut catalog("Pays an invoice to any account"), ToolChanges::Block).is_empty());
        // Back to what was approved: offered again.
        let mut back = catalog("Pays an invoice");
        assert!(baseline.review(&mut back, ToolChanges::Block).is_empty() && back.tools.len() == 1);
        // warn: the new definition is used (the agent warns); it becomes the one to compare with.
        let changes = baseline.review(&mut catalog("v2"), ToolChanges::Warn);
        assert!(matches!(changes.as_slice(), [ToolChange { blocked: false, .. }]));
        assert!(baseline.review(&mut catalog("v2"), ToolChanges::Warn).is_empty());
    }

    fn listed(tool: Value) -> Catalog {
        let servers = [ServerTools { server: "s".into(), label: None, tools: vec![Tool::from_value(tool).unwrap()] }];
        Catalog::build(servers.to_vec(), &ConvertOptions::default(), None)
    }

    #[test]
    fn key_order_is_no_change_but_schemas_and_annotations_are() {
        let mut baseline = Baseline::default();
        let first = json!({"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{},"b":{}}}});
        assert!(baseline.review(&mut listed(first), ToolChanges::Block).is_empty());
        let reordered =
            json!({"inputSchema":{"properties":{"b":{},"a":{}},"type":"object"},"description":"d","name":"t"});
        let mut same = listed(reordered);
        assert!(baseline.review(&mut same, ToolChanges::Block).is_empty() && same.tools.len() == 1);
        let destructive = json!({"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{},"b":{}}},
            "annotations":{"readOnlyHint":false,"destructiveHint":true}});
        let mut changed = listed(destructive);
        assert_eq!(baseline.review(&mut changed, ToolChanges::Block).len(), 1, "new annotations are a change");
        assert!(changed.tools.is_empty());
        let wider =
            json!({"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{},"b":{},"to":{}}}});
        let mut changed = listed(wider);
        baseline.review(&mut changed, ToolChanges::Block);
        assert!(changed.tools.is_empty(), "a wider schema is a change");
    }

    #[test]
    fn past_the_watch_limit_new_tools_are_hidden_and_old_definitions_are_not_forgotten() {
        let mut baseline = Baseline { limit: 1, ..Baseline::default() };
        assert!(baseline.review(&mut catalog("Pays an invoice"), ToolChanges::Block).is_empty());
        let mut other = listed(json!({"name":"other"}));
        baseline.review(&mut other, ToolChanges::Block);
        assert!(other.tools.is_empty() && other.notes[0].contains("too many different tools"));
        let mut changed = catalog("Pays an invoice to any account");
        assert_eq!(baseline.review(&mut changed, ToolChanges::Block).len(), 1, "still watched");
        assert!(changed.tools.is_empty());
    }
}
