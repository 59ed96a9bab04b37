// The page: runs the agent here, with the package's wasm found by the package itself (the bundler, or the
// browser with no bundler, resolves its `new URL('…wasm', import.meta.url)`).
import { createAgent } from 'mcp-loop';
import { ask, outcome, question } from './agent.js';

outcome(ask(createAgent, question())).then((result) => (window.__result = result));
