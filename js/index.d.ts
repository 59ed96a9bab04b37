// Public types of the mcp-loop package (Node and browser entries export the same API).

/** Header values as an object, `[name, value]` pairs, or a `Headers`. Values are secrets: never sent to the model. */
export type HeadersLike = Record<string, string> | Array<[string, string]> | Headers;

/** One private MCP server, reached over Streamable HTTP. */
export interface ServerOptions {
  /** The MCP endpoint, e.g. `http://127.0.0.1:8000/mcp`. */
  url: string;
  /** Sent with every request to this server (e.g. `{ authorization: 'Bearer …' }`). */
  headers?: HeadersLike;
  /** Per-request timeout in milliseconds. Default 60 000. */
  timeoutMs?: number;
}

/** How the model is reached. Every field maps to one Portkey header. */
export interface PortkeyOptions {
  /** Default `https://api.portkey.ai/v1`; `/responses` is appended. */
  baseURL?: string;
  /** `x-portkey-api-key`. */
  apiKey?: string;
  /** `x-portkey-provider`: a provider name (`openai`) or a Model Catalog slug (`@openai-prod`). */
  provider?: string;
  /** `x-portkey-virtual-key` (legacy; not together with `provider`). */
  virtualKey?: string;
  /** `x-portkey-config`: a saved config id or a config object. */
  config?: string | Record<string, unknown>;
  /** `x-portkey-custom-host`: the provider URL the gateway forwards to (include `/v1`). */
  customHost?: string;
  /** `x-portkey-metadata`. */
  metadata?: Record<string, string>;
  /** The provider's `Authorization` header value, e.g. `Bearer sk-…`. */
  authorization?: string;
  /** Further headers, e.g. `{ 'x-portkey-cache-namespace': 'team-a' }`. */
  headers?: HeadersLike;
}

export interface AgentOptions {
  /** The model, e.g. `gpt-4.1` or a Portkey `@provider/model`. */
  model: string;
  /** Instructions sent with every request. */
  instructions?: string;
  /** The most model turns a run may take. Default 10. */
  maxTurns?: number;
  /** Further Responses API request fields for every request (`temperature`, `reasoning`, `max_output_tokens`, …). */
  modelSettings?: Record<string, unknown>;
  /** The cap on one tool output in characters (longer text is cut head-and-tail, with a marker). Default 100 000. */
  maxOutputChars?: number;
  /** How long one model request may take, in milliseconds. Default 600 000. */
  modelTimeoutMs?: number;
  /** The model endpoint. */
  portkey?: PortkeyOptions;
  /** The MCP servers by name. The name prefixes tool names when there is more than one server. */
  servers?: Record<string, ServerOptions | string>;
  /** The `fetch` used for every request. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

export interface RunOptions {
  /** `x-portkey-trace-id` for this run. Default: a fresh random id per run. */
  traceId?: string;
  /** Called with every step of the run, as it happens. */
  onEvent?: (event: AgentEvent) => void;
}

/** Responses API input items, passed through untouched. */
export type ResponseInputItem = Record<string, unknown>;

export interface Agent {
  /** Runs one conversation to its end. Rejects with `McpLoopError` (codes `config`, `mcp`, `model`, `cancelled`). */
  run(input: string | ResponseInputItem[], options?: RunOptions): Promise<RunResult>;
  /** Ends every run, deletes the MCP sessions, and resolves when nothing is left in flight. */
  close(): Promise<void>;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

export interface ToolCallRecord {
  turn: number;
  callId: string;
  /** The function name the model used. */
  name: string;
  /** The server it routed to (absent when the name was unknown). */
  server?: string;
  /** The original MCP tool name. */
  tool?: string;
  /** The parsed arguments, or the raw string when they did not parse. */
  arguments: unknown;
  /** What the model got back. */
  output: string;
  isError: boolean;
}

export interface RunResult {
  /** `completed`; `max_turns` when the model still wanted tools after `maxTurns`; `incomplete` when the provider cut the response. */
  status: 'completed' | 'max_turns' | 'incomplete';
  /** The final answer's text. */
  outputText: string;
  /** The final response's output items, verbatim. */
  output: Array<Record<string, unknown>>;
  turns: number;
  toolCalls: ToolCallRecord[];
  usage: Usage;
  responseId: string;
  incompleteReason?: string;
  traceId?: string;
}

export type AgentEvent =
  | { type: 'serverConnected'; server: string; protocolVersion: string; serverInfo?: string }
  | { type: 'toolsListed'; count: number }
  | { type: 'turnStarted'; turn: number }
  | { type: 'turnCompleted'; turn: number; responseId: string; toolCalls: number; text: string }
  | { type: 'toolCallStarted'; callId: string; name: string; server?: string; tool?: string; arguments: unknown }
  | { type: 'toolCallFinished'; callId: string; name: string; output: string; isError: boolean }
  | { type: 'notification'; server: string; method: string; params?: unknown }
  | { type: 'warning'; server?: string; message: string };

/** A Responses API function tool. */
export interface FunctionTool {
  type: 'function';
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  strict: boolean;
}

export interface ToFunctionToolsOptions {
  /** The server these tools come from (routes and prefixes). Default `default`. */
  server?: string;
  /** Prefix names with the server's name: `auto` (default; one server means no prefix), `always`, `never`. */
  prefix?: 'auto' | 'always' | 'never';
  /** The cap on descriptions in characters. Default 1024. */
  maxDescriptionChars?: number;
}

export interface FunctionTools {
  tools: FunctionTool[];
  /** Why an entry of the input was skipped. */
  notes: string[];
  /** Where a function name the model used leads, or `null`. */
  resolve(name: string): { server: string; tool: string } | null;
}

export declare function createAgent(options: AgentOptions): Agent;

/** Converts the `tools` of a `tools/list` result (or the whole result) to function tools. */
export declare function toFunctionTools(tools: unknown, options?: ToFunctionToolsOptions): FunctionTools;

export declare class McpLoopError extends Error {
  /** `config` (bad options or input), `mcp` (a server failed), `model` (the provider failed), `cancelled`, `host`. */
  code: 'config' | 'mcp' | 'model' | 'cancelled' | 'host';
  /** HTTP status of a model error. */
  status?: number;
  /** The server of an `mcp` error. */
  server?: string;
  /** The message without the prefix naming its source. */
  detail?: string;
}
