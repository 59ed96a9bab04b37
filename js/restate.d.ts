// mcp-loop/restate: durable runs on Restate (Node 22 or later, with @restatedev/restate-sdk installed).
import type { WorkflowDefinition } from '@restatedev/restate-sdk';
import type { AgentEvent, AgentOptions } from './index.js';

export * from './restate-client.js';

/**
 * A Restate workflow (default name `mcpLoop`) that runs conversations with `options`, the same as `createAgent`'s.
 * Bind it into a Restate endpoint (`restate.serve({ services: [workflow] })`). Each process opens the MCP
 * connections once and reuses them across runs; the tool listing, every model request and every tool call is a
 * journaled step; approvals are durable promises. `onEvent` gets the worker's own events (servers connecting,
 * their logs, warnings). Throws `McpLoopError { code: 'config' }` for options that are not valid, and on Node before 22.
 */
export declare function restateWorkflow(options: AgentOptions, settings?: { name?: string; onEvent?: (event: AgentEvent) => void }): WorkflowDefinition<string, unknown>;
