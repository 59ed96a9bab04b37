// The page, for esbuild: esbuild leaves `new URL('…wasm', import.meta.url)` alone, so the app imports the
// package's wasm file (the `file` loader gives its path in the output, relative to the bundle) and hands its URL
// to init() before any use.
import wasm from 'mcp-loop/mcp_loop_bg.wasm';
import { createAgent, init } from 'mcp-loop';
import { ask, outcome, question } from '../agent.js';

const loaded = init({ wasm: new URL(wasm, import.meta.url) });
outcome(loaded.then(() => ask(createAgent, question()))).then((result) => (window.__result = result));
