// Node entry: load the wasm core synchronously from the package, then expose the API.
import { readFileSync } from 'node:fs';
import { initSync } from '../pkg/mcp_loop.js';

initSync({ module: readFileSync(new URL('../pkg/mcp_loop_bg.wasm', import.meta.url)) });

export * from './core.js';
