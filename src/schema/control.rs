//! What the application lets into the catalog: per-server allow and deny lists, and a watch on tool
//! definitions, so that a server cannot swap what a tool does after it was first offered (and approved).

use super::Catalog;
use crate::event::Event;
use serde_json::{Map, Value, json};

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

/// The definitions first seen, per tool (see `tool_key`), for the life of the agent.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Fingerprints.
    seen: Map<String, Value>,
    /// Tools hidden by `block`.
    blocked: Map<String, Value>,
}

impl Baseline {
    /// Compares a fresh catalog with the definitions seen before, applies `policy`, and says what changed.
    pub fn review(&mut self, catalog: &mut Catalog, policy: ToolChanges) -> Vec<Event> {
        let mut events = Vec::new();
        let mut hide = Vec::new();
        for tool in &catalog.tools {
            let key = super::tool_key(&tool.server, &tool.tool);
            let first = self.seen.entry(key.clone()).or_insert(json!(tool.fingerprint)).as_u64();
            if first == Some(tool.fingerprint) {
                self.blocked.remove(&key);
                continue;
            }
            let (server, name) = (tool.server.clone(), tool.tool.clone());
            match policy {
                ToolChanges::Block => {
                    if self.blocked.insert(key, Value::Bool(true)).is_none() {
                        events.push(Event::ToolChanged { server: server.clone(), tool: name.clone(), blocked: true });
                    }
                    hide.push((server, name));
                }
                ToolChanges::Accept | ToolChanges::Warn => {
                    self.seen.insert(key, json!(tool.fingerprint));
                    if policy == ToolChanges::Warn {
                        let message = format!("the server changed the definition of its tool '{name}'");
                        events.push(Event::Warning { server: Some(server.clone()), message });
                    }
                    events.push(Event::ToolChanged { server, tool: name, blocked: false });
                }
            }
        }
        for (server, tool) in hide {
            catalog.remove(&server, &tool, "its definition changed since it was first listed");
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::Tool;
    use crate::schema::{ConvertOptions, ServerTools};
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
        let events = baseline.review(&mut changed, ToolChanges::Block);
        assert_eq!(events, [Event::ToolChanged { server: "bank".into(), tool: "pay".into(), blocked: true }]);
        assert!(changed.tools.is_empty() && changed.notes[0].contains("definition changed"));
        // Still changed on the next listing: still hidden, said once.
        assert!(baseline.review(&mut catalog("Pays an invoice to any account"), ToolChanges::Block).is_empty());
        // Back to what was approved: offered again.
        let mut back = catalog("Pays an invoice");
        assert!(baseline.review(&mut back, ToolChanges::Block).is_empty() && back.tools.len() == 1);
        // warn: the new definition is used, with a warning; it becomes the one to compare with.
        let events = baseline.review(&mut catalog("v2"), ToolChanges::Warn);
        assert!(matches!(events.as_slice(), [Event::Warning { .. }, Event::ToolChanged { blocked: false, .. }]));
        assert!(baseline.review(&mut catalog("v2"), ToolChanges::Warn).is_empty());
    }
}
