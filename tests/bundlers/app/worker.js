// The agent in a module Web Worker; the package finds its own wasm.
import { createAgent, init } from 'mcp-loop';
import { serve } from './serve.js';

serve({ createAgent, init });
