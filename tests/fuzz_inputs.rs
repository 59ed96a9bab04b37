//! Every fuzz seed, and every input that once made a fuzz target fail, is read by its target again on every
//! test run (`fuzz/seeds/<target>`, `fuzz/regressions/<target>`; `scripts/fuzz.sh` finds new ones).
#![cfg(feature = "fuzzing")]

use mcp_loop::fuzzing;
use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("sse", fuzzing::sse),
    ("jsonrpc", fuzzing::jsonrpc),
    ("lines", fuzzing::lines),
    ("tools_page", fuzzing::tools_page),
    ("validate_arguments", fuzzing::validate_arguments),
    ("responses", fuzzing::responses),
    ("snapshot", fuzzing::snapshot),
];

#[test]
fn every_seed_and_every_former_failure_is_read_again() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, target) in TARGETS {
        let mut seeds = 0;
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(name)) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                target(&std::fs::read(&path).unwrap());
                seeds += usize::from(dir == "seeds");
            }
        }
        assert!(seeds > 0, "{name} has seeds to start from");
    }
}
