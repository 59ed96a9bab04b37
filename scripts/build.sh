#!/bin/sh
# Builds pkg/ (the wasm core and its JS glue) from the Rust crate. Run by scripts/setup.sh.
set -eu
cd "$(dirname "$0")/.."
cargo build --quiet --target wasm32-unknown-unknown --release --features wasm
wasm-bindgen --target web --out-dir pkg --out-name mcp_loop "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/mcp_loop.wasm"
# Binaryen from npm (never Debian's: its -Oz output fails to load). Drops names and shrinks the code.
node_modules/.bin/wasm-opt -Oz --converge --flatten --rereloop -Oz --strip-debug --strip-producers pkg/mcp_loop_bg.wasm -o pkg/mcp_loop_bg.wasm
rm -f pkg/package.json pkg/.gitignore
# The browser entry as one minified module (what a page loads, beside the wasm): the same code as js/browser.js.
# No top-level await (a service worker refuses it): esbuild fails the build if any comes in.
node_modules/.bin/esbuild js/browser.js --bundle --format=esm --platform=browser --minify --log-level=warning --supported:top-level-await=false \
  --outfile=pkg/browser.js
