//! The core's layers only import downward (see `../shared/DESIGN.md`, "Layout"): every `crate::…` path in
//! `src/` names a module of a lower layer, or of its own module. And no source file outside tests grows past
//! 800 lines.

use std::path::{Path, PathBuf};

/// The layers, lowest first; modules on one line are one layer and do not import each other.
const LAYERS: &[&[&str]] = &[
    &["base"],
    &["wire"],
    &["schema", "content", "event"],
    &["mcp"],
    &["auth"],
    &["model"],
    &["tool_loop"],
    &["agent"],
    &["hostproto"],
    &["wasm", "native", "fuzzing"],
];

const MAX_LINES: usize = 800;

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file of `src/` belongs to (`None` for `lib.rs`).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// The modules a source text names through `crate::` (plain and in `use crate::{…}` groups), with the path
/// as written, for the message.
fn crate_paths(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let preceded = rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded {
            continue; // `mcp_loop_crate::` or the like, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b}`: the first segment of each member, at the group's own depth.
            let mut depth = 0;
            let mut member_start = true;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => member_start = true,
                    c if member_start && (c.is_alphanumeric() || c == '_') => {
                        let name: String =
                            group[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        found.push((name.clone(), format!("crate::{{{name}…}}")));
                        member_start = false;
                    }
                    _ => {}
                }
            }
            rest = &group[end..];
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        if !name.is_empty() {
            found.push((name, format!("crate::{}", path.trim_end_matches(':'))));
        }
    }
    found
}

/// Every upward (or sideways) import in one file, as messages naming the file and the item.
fn violations(relative: &Path, source: &str) -> Vec<String> {
    let Some(module) = module_of(relative) else { return Vec::new() };
    let Some(own) = layer(&module) else {
        return vec![format!("{}: module '{module}' is in no layer; add it to LAYERS", relative.display())];
    };
    // Only code, not comments: a doc may name a higher layer to explain who uses this one.
    let code: String = source
        .lines()
        .map(|line| match line.trim_start().starts_with("//") {
            true => "",
            false => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for (target, path) in crate_paths(&code) {
        if target == module {
            continue;
        }
        match layer(&target) {
            Some(theirs) if theirs < own => {}
            Some(theirs) => out.push(format!(
                "{} ({module}, layer {own}) imports {path} ({target}, layer {theirs}): layers import only downward",
                relative.display()
            )),
            // An item of lib.rs itself (the crate's re-exports): the top, above everything.
            None => out.push(format!(
                "{} ({module}) imports {path}, which is not a layer module: import it from where it lives",
                relative.display()
            )),
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_test_file(relative: &Path) -> bool {
    relative.components().any(|c| {
        let c = c.as_os_str().to_str().unwrap_or("");
        c == "tests.rs" || c == "tests"
    })
}

#[test]
fn layers_import_only_downward_and_files_stay_small() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "found the sources");
    let mut problems = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src/").to_path_buf();
        let source = std::fs::read_to_string(&file).expect("a readable source file");
        problems.extend(violations(&relative, &source));
        let lines = source.lines().count();
        if !is_test_file(&relative) && lines > MAX_LINES {
            problems.push(format!("{} has {lines} lines (at most {MAX_LINES} outside tests)", relative.display()));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn an_upward_import_is_named_with_its_file_and_item() {
    let file = Path::new("base/io.rs");
    let source = "use crate::base::queue::Queue;\nuse crate::agent::Driver;\n// crate::native in a comment\n";
    assert_eq!(
        violations(file, source),
        ["base/io.rs (base, layer 0) imports crate::agent::Driver (agent, layer 7): layers import only downward"]
    );
    let grouped = "use crate::{base::http::HttpRequest, tool_loop::{ToolLoop, Decision}};";
    assert_eq!(
        violations(Path::new("mcp/ops.rs"), grouped),
        ["mcp/ops.rs (mcp, layer 3) imports crate::{tool_loop…} (tool_loop, layer 6): layers import only downward"]
    );
    assert_eq!(
        violations(Path::new("content.rs"), "let x = crate::event::Event::Warning;"),
        [
            "content.rs (content, layer 2) imports crate::event::Event::Warning (event, layer 2): layers import only downward"
        ],
        "modules of one layer do not import each other"
    );
    assert!(violations(Path::new("agent/runs.rs"), "use crate::tool_loop::ToolLoop; use crate::agent::x;").is_empty());
    assert!(violations(Path::new("lib.rs"), "pub use crate::agent::Driver;").is_empty(), "lib.rs is the top");
}
