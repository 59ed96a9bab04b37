#!/bin/sh
# Every test: formatting and lints, Rust unit and integration tests (native and wasm), then the Node tests
# (unit, end to end against real servers and the Portkey gateway, headless Chromium), and a short fuzz run of
# every reader of untrusted bytes. Installs what it needs.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --test

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy (native, all features that apply)"
cargo clippy --quiet --all-targets --features native,fuzzing -- -D warnings
step "cargo clippy (wasm32)"
cargo clippy --quiet --all-targets --target wasm32-unknown-unknown --features wasm -- -D warnings

step "cargo package (the crate's files; a warning fails)"
packaged=$(cargo package --allow-dirty --no-verify 2>&1) || { echo "$packaged"; exit 1; }
if echo "$packaged" | grep -q '^warning'; then echo "$packaged"; exit 1; fi
echo "$packaged" | tail -1

step "cargo test --features native,fuzzing (unit, integration, end to end, fuzz seeds and regressions)"
cargo test --quiet --features native,fuzzing

step "cargo test --target wasm32-unknown-unknown --features wasm (bindings under Node)"
cargo test --target wasm32-unknown-unknown --features wasm

step "cargo build --examples conformance_client resume (for the conformance and tool-loop runs)"
# The features of the test build above, so the library is not built again.
cargo build --quiet --features native,fuzzing --example conformance_client --example resume

step "node --test tests/js"
node --test --test-concurrency=2 tests/js/*.test.mjs

step "fuzz: 2000 executions of every target (scripts/fuzz.sh; a full run is 1 000 000 each)"
sh scripts/fuzz.sh 2000
