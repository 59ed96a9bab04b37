// Loading the wasm core, once. Node loads it synchronously as the package is imported (node.js); a browser
// fetches it when first needed, or when the application calls `init()`, so that no entry awaits at its top level
// (a service worker refuses a module that does).

import load from '../pkg/mcp_loop.js';
import { McpLoopError } from './errors.js';

/** The package's own wasm file, next to the browser bundle (pkg/) and to this file's build output. */
const PACKAGED = new URL('../pkg/mcp_loop_bg.wasm', import.meta.url);

let loaded = false;
let loading = null;

/** The core is ready (after `init`, or at once in Node). */
export const isLoaded = () => loaded;

/** Node's entry loaded the core itself. */
export function markLoaded() {
  loaded = true;
}

/**
 * Loads the wasm core: `options.wasm` is a URL (string or URL), a `Response`, bytes, or a `WebAssembly.Module`
 * (default: the package's own file). Resolves once loaded; a failure rejects with `code: 'host'`, naming what
 * was loaded and why it failed, and the next call tries again.
 */
export function init(options = {}) {
  if (loaded) return Promise.resolve();
  loading ??= instantiate(options.wasm ?? PACKAGED).then(
    () => {
      loaded = true;
    },
    (error) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

async function instantiate(source) {
  const where = typeof source === 'string' || source instanceof URL ? String(source) : 'the wasm module given to init()';
  try {
    if (where === String(source)) {
      const response = await fetch(source);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      source = response;
    }
    await load({ module_or_path: source });
  } catch (cause) {
    const text = String(cause?.message ?? cause);
    const csp = /wasm-unsafe-eval|Content Security Policy/i.test(text)
      ? "; the page's Content Security Policy must allow 'wasm-unsafe-eval' in script-src (in an extension: content_security_policy.extension_pages)"
      : '';
    const hint = /^HTTP 404/.test(text) ? '; when a bundler moves the package, pass the wasm file: init({ wasm: url })' : '';
    throw new McpLoopError(`could not load the mcp-loop core from ${where}: ${text}${csp}${hint}`, { code: 'host' });
  }
}

/** Throws the `host` error a synchronous call gets before the core is loaded (in browsers, `await init()` first). */
export function ensureLoaded(what) {
  if (!loaded) throw new McpLoopError(`${what} needs the mcp-loop core loaded: await init() first`, { code: 'host' });
}
