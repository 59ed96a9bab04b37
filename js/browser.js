// Browser entry: fetch and instantiate the wasm core next to this package, then expose the API. (No stdio:
// a page cannot start processes.)
import init from '../pkg/mcp_loop.js';

await init({ module_or_path: new URL('../pkg/mcp_loop_bg.wasm', import.meta.url) });

export * from './core.js';
