// The agent in a module Web Worker, for esbuild: the wasm file's URL from the `file` loader, given to init().
import wasm from 'mcp-loop/mcp_loop_bg.wasm';
import { createAgent, init } from 'mcp-loop';
import { serve } from '../serve.js';

serve({ createAgent, init }, { wasm: new URL(wasm, import.meta.url) });
