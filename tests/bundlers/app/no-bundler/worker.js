// The agent in a module Web Worker, with no bundler: import maps do not reach workers, so the worker imports the
// package's browser entry by its path. (The no-bundler app is app/ with this directory's files in place of
// their namesakes.)
import { createAgent, init } from './node_modules/mcp-loop/pkg/browser.js';
import { serve } from './serve.js';

serve({ createAgent, init });
