//! The real-world corpus (`tests/fixtures/corpus`: the tool lists of real MCP servers) and the hand-made hard
//! cases, converted as the model will get them, checked by a rule checker written from OpenAI's documented rules
//! (`tests/common/strict_rules.rs`, independent of the converter), and by a property test: arguments valid for a
//! strict schema, once the nulls for optional properties are removed, are valid for the tool's own schema (checked
//! by the `jsonschema` crate, independent of the library's own validator).
#![cfg(not(target_arch = "wasm32"))]

#[path = "common/strict_rules.rs"]
mod strict_rules;
#[path = "common/strict_values.rs"]
mod strict_values;

use mcp_loop::Tool;
use mcp_loop::{Catalog, ConvertOptions, PrefixPolicy, ServerTools, StrictMode, convert_json};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("corpus")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.push(dir.join("hard-cases.json"));
    files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            (name, value)
        })
        .collect()
}

fn tools_of(list: &Value) -> Vec<Value> {
    list.get("tools").unwrap_or(list).as_array().unwrap().clone()
}

fn assert_valid_and_unique(tools: &[Value], what: &str) {
    let mut names = BTreeSet::new();
    for tool in tools {
        let problems = strict_rules::violations(tool);
        assert!(problems.is_empty(), "{what}: {}: {problems:#?}", tool["name"]);
        assert!(names.insert(tool["name"].as_str().unwrap().to_owned()), "{what}: {} twice", tool["name"]);
    }
}

#[test]
fn every_converted_tool_keeps_the_rules_in_every_mode() {
    for (name, list) in fixtures() {
        for strict in [json!("auto"), json!(true), json!(false)] {
            let out: Value =
                serde_json::from_str(&convert_json(list.clone(), &json!({"server": name, "strict": strict})).unwrap())
                    .unwrap();
            assert_valid_and_unique(out["tools"].as_array().unwrap(), &format!("{name} (strict {strict})"));
            // Every tool is either offered or explained.
            let offered = out["tools"].as_array().unwrap().len();
            let notes = out["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap());
            let hidden = notes.filter(|n| n.contains(": hidden:") || n.contains(": skipped")).count();
            assert_eq!(offered + hidden, tools_of(&list).len(), "{name}: {}", out["notes"]);
        }
    }
}

#[test]
fn the_whole_corpus_as_one_catalog_has_valid_unique_names() {
    let servers: Vec<ServerTools> = fixtures()
        .iter()
        .map(|(name, list)| ServerTools {
            server: name.clone(),
            label: None,
            tools: tools_of(list).iter().filter_map(|t| Tool::from_value(t.clone()).ok()).collect(),
        })
        .collect();
    for prefix in [PrefixPolicy::Auto, PrefixPolicy::Never] {
        let convert = ConvertOptions { prefix, ..Default::default() };
        let catalog = Catalog::build(servers.to_vec(), &convert, None);
        let functions = catalog.functions().to_values();
        assert_valid_and_unique(&functions, &format!("one catalog, prefix {prefix:?}"));
        assert!(functions.len() > 400);
        // Deterministic: the same catalog gives the same names.
        assert_eq!(Catalog::build(servers.to_vec(), &convert, None).functions().text(), catalog.functions().text());
        for tool in catalog.tools() {
            assert_eq!(catalog.resolve(&tool.function.name).unwrap().tool, tool.tool);
        }
    }
}

#[test]
fn strict_arguments_without_their_nulls_fit_the_original_schema() {
    let mut checked = 0;
    let mut skipped = Vec::new();
    for (name, list) in fixtures() {
        let tools: Vec<Tool> = tools_of(&list).iter().filter_map(|t| Tool::from_value(t.clone()).ok()).collect();
        let servers = [ServerTools { server: name.clone(), label: None, tools }];
        let catalog =
            Catalog::build(servers.to_vec(), &ConvertOptions { strict: StrictMode::Auto, ..Default::default() }, None);
        for tool in catalog.tools().iter().filter(|t| t.function.strict) {
            // The generator does not follow `pattern`: every other constraint is checked.
            let strict = &tool.function.parameters;
            let original = without_patterns(tool.input_schema());
            let original = match jsonschema::options().should_validate_formats(false).build(&original) {
                Ok(validator) => validator,
                Err(e) => {
                    skipped.push(format!("{name}/{}: the original schema does not compile: {e}", tool.tool));
                    continue;
                }
            };
            let strict_validator =
                jsonschema::options().should_validate_formats(false).build(&without_patterns(strict)).unwrap();
            let mut rng = strict_values::Rng::new(7);
            for _ in 0..40 {
                let model = strict_values::generate(strict, strict, &mut rng, 0);
                assert!(strict_validator.is_valid(&model), "{name}/{}: the generator made {model}", tool.tool);
                let sent = tool.server_arguments(model.clone());
                if let Err(e) = original.validate(&sent) {
                    panic!(
                        "{name}/{}: the model sent {model}; the server gets {sent}, which its schema refuses: {e}",
                        tool.tool
                    );
                }
                checked += 1;
            }
        }
    }
    eprintln!("checked {checked} argument objects; skipped: {skipped:#?}");
    assert!(checked > 10_000, "{checked}");
}

/// `schema` without its `pattern` keywords (a property named `pattern` stays).
fn without_patterns(schema: &Value) -> Value {
    let Value::Object(map) = schema else { return schema.clone() };
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let child = match (key.as_str(), value) {
            ("pattern", Value::String(_)) => continue,
            ("properties" | "$defs" | "definitions" | "patternProperties" | "dependentSchemas", Value::Object(m)) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), without_patterns(v))).collect())
            }
            ("anyOf" | "oneOf" | "allOf" | "prefixItems" | "items", Value::Array(list)) => {
                Value::Array(list.iter().map(without_patterns).collect())
            }
            ("items" | "additionalProperties" | "not" | "if" | "then" | "else" | "contains" | "propertyNames", v) => {
                without_patterns(v)
            }
            (_, v) => v.clone(),
        };
        out.insert(key.clone(), child);
    }
    Value::Object(out)
}

/// The wasm core behind `mcp-loop convert` gives exactly what the native core gives, for every corpus file.
#[test]
fn the_cli_gives_what_the_native_core_gives() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (name, list) in fixtures() {
        let file = if name == "hard-cases" {
            "tests/fixtures/hard-cases.json".to_owned()
        } else {
            format!("tests/fixtures/corpus/{name}.json")
        };
        let out = std::process::Command::new("node")
            .args(["js/cli.js", "convert", "--server", &name, &file])
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        let native: Value =
            serde_json::from_str(&convert_json(list.clone(), &json!({"server": name})).unwrap()).unwrap();
        // Tool by tool, so a difference names its tool instead of printing the whole catalog.
        let (cli_tools, native_tools) = (cli["tools"].as_array().unwrap(), native["tools"].as_array().unwrap());
        assert_eq!(cli_tools.len(), native_tools.len(), "{name}");
        for (a, b) in cli_tools.iter().zip(native_tools) {
            assert!(a == b, "{name}: {} differs between the CLI (wasm) and the native core", b["name"]);
        }
        assert_eq!(cli["notes"], native["notes"], "{name}");
        assert_valid_and_unique(cli["tools"].as_array().unwrap(), &name);
    }
}
