#!/bin/sh
# Run by `npm pack` and `npm publish`: builds pkg/ so that no package ships without its wasm core, or refuses,
# saying what to install, when the toolchain is not here.
set -eu
cd "$(dirname "$0")/.."
missing=""
command -v cargo >/dev/null 2>&1 || missing="$missing cargo"
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || missing="$missing the-wasm32-target"
command -v wasm-bindgen >/dev/null 2>&1 || missing="$missing wasm-bindgen"
[ -x node_modules/.bin/wasm-opt ] && [ -x node_modules/.bin/esbuild ] || missing="$missing npm-devDependencies"
if [ -n "$missing" ]; then
  echo "mcp-loop: cannot build pkg/ (the wasm core) for the package; missing:$missing." >&2
  echo "Run 'sh scripts/setup.sh' (it installs them), then pack again." >&2
  exit 1
fi
sh scripts/build.sh
for file in pkg/mcp_loop.js pkg/mcp_loop_bg.wasm pkg/browser.js; do
  [ -s "$file" ] || { echo "mcp-loop: the build left no $file" >&2; exit 1; }
done
