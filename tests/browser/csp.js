// Loads the core explicitly (from `?wasm=` when given) and converts one tool, under whatever Content Security
// Policy the test server sent with the page.
import { init, toFunctionTools } from '/pkg/browser.js';

const wasm = new URLSearchParams(location.search).get('wasm') ?? undefined;
try {
  await init({ wasm });
  window.__result = { ok: true, tools: toFunctionTools([{ name: 'a' }]).tools.length };
} catch (error) {
  window.__result = { ok: false, code: error?.code, error: String(error?.message ?? error) };
}
