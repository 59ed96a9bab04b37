#!/bin/sh
# Fuzzes every reader of untrusted bytes with cargo-fuzz (libFuzzer), a fixed number of executions each:
#   sh scripts/fuzz.sh [runs] [target …]      (default: 1000000 runs of every target; the tests run 2000)
# Targets: sse jsonrpc lines tools_page validate_arguments responses snapshot (fuzz/fuzz_targets, entry points in
# src/fuzzing.rs). Inputs that reach new code go to fuzz/corpus/<target> (not in git); a crash or a hang stops
# the run and leaves its input in fuzz/artifacts/<target>: add it to fuzz/regressions/<target>/, where
# `cargo test` (tests/fuzz_inputs.rs) reads it again on every run.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-1000000}
[ $# -gt 0 ] && shift
targets=${*:-sse jsonrpc lines tools_page validate_arguments responses snapshot}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked --quiet cargo-fuzz
# libFuzzer needs nightly compiler flags; without a nightly toolchain, stable takes them with RUSTC_BOOTSTRAP.
if rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=+nightly
else
  toolchain=
  export RUSTC_BOOTSTRAP=1
fi
mkdir -p fuzz/artifacts
for target in $targets; do
  mkdir -p "fuzz/corpus/$target"
  log="fuzz/artifacts/$target.log"
  # No sanitizer (the crate forbids unsafe code); debug assertions make overflows panic. A hang is an input
  # that takes over 10 s; memory is capped at 2 GiB.
  if cargo $toolchain fuzz run --fuzz-dir fuzz --sanitizer none --debug-assertions "$target" \
    "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | sed 's/^stat:://' | tr '\n' ' ')
    echo "fuzz $target: $stats"
  else
    tail -n 40 "$log"
    echo "fuzz $target FAILED: the input is in fuzz/artifacts/$target (full log: $log)"
    exit 1
  fi
done
