// Public types of the mcp-loop package (Node and browser entries export the same API).

/** Header values as an object, `[name, value]` pairs, or a `Headers`. Values are secrets: never sent to the model. */
export type HeadersLike = Record<string, string> | Array<[string, string]> | Headers;

/** The protocol era: `auto` (default) probes for the stateless 2026-07-28 revision and falls back to the
 * handshake (a server that answered the handshake is not probed again by this page or process); `handshake`
 * skips the probe; a version fixes it (a handshake-era version is the one offered in `initialize`). */
export type ProtocolOption = 'auto' | 'handshake' | '2026-07-28' | '2025-11-25' | '2025-06-18' | '2025-03-26' | '2024-11-05';

interface CommonServerOptions {
  /** Per-request timeout in milliseconds (progress restarts it, up to ten times in all), and the time connecting
   * may take in all (probe, handshake, retries after failures that may heal). Default 60 000. */
  timeoutMs?: number;
  /** The protocol era. Default `auto`. */
  protocol?: ProtocolOption;
  /** More values to keep out of everything that reaches the model, the events and errors (also URL-encoded and in
   * base64). Header values, session ids, `env` values, token-like URL parts (userinfo, `?api_key=…`) and arguments
   * named like secrets (`--token=…`, `--api-key …`, `API_KEY=…`) are found without it. */
  secrets?: string[];
  /** Offer only these tools to the model, and list only these (names or `*` globs). Default: all. */
  allowTools?: string[];
  /** Never offer nor list these tools (names or `*` globs); wins over `allowTools`. */
  denyTools?: string[];
  /** Agents only: put `[label]` in front of this server's tool descriptions, to tell the model where they come from. */
  label?: string;
  /** Agents only: which calls to this server wait for a person; overrides the agent's `approve`. */
  approve?: ApprovePolicy;
  /** Agents only: the most calls of one run running on this server at once. Default 4. */
  maxConcurrentCalls?: number;
}

/** When a tool call waits for a person's decision: `never` (default), `always`, `destructive` (tools not annotated
 * `readOnlyHint: true` or `destructiveHint: false`), or a function that says per call whether to ask. */
export type ApprovePolicy = 'never' | 'always' | 'destructive' | ((call: PendingCall) => boolean | Promise<boolean>);

/** An MCP client the application already owns (for example an official MCP SDK `Client`), used as a server. */
export interface McpClientLike {
  /** Lists tools (`{ cursor }` for later pages): `{ tools, nextCursor? }`, or an array of tools. */
  listTools(params?: { cursor?: string }): Promise<{ tools: McpTool[]; nextCursor?: string } | McpTool[]>;
  /** Calls a tool; `options.signal` aborts it (a cancelled run), `options.onprogress` reports progress. */
  callTool(
    params: { name: string; arguments: Record<string, unknown> },
    resultSchema?: unknown,
    options?: { signal?: AbortSignal; onprogress?: (p: { progress: number; total?: number; message?: string }) => void },
  ): Promise<unknown>;
}

/** A server given as the application's own client, with the agent's per-server options. */
export interface ClientServerOptions extends Omit<CommonServerOptions, 'timeoutMs' | 'protocol' | 'secrets'> {
  client: McpClientLike | McpConnection;
  timeoutMs?: number;
}

/** A private MCP server over HTTP: Streamable HTTP, or the legacy HTTP+SSE transport. */
export interface HttpServerOptions extends CommonServerOptions {
  /** The MCP endpoint, e.g. `http://127.0.0.1:8000/mcp` (or the `/sse` URL of a legacy server). */
  url: string;
  /** Sent with every request to this server (e.g. `{ authorization: 'Bearer …' }`); a function is called before
   * every request (rotating tokens). Never sent to the model side. */
  headers?: HeadersLike | (() => HeadersLike | Promise<HeadersLike>);
  /** `auto` (default): Streamable HTTP, falling back to HTTP+SSE when the server refuses it. */
  transport?: 'auto' | 'streamable-http' | 'sse';
  /** Authorize when the server asks (HTTP 401, or 403 for more scope): OAuth 2.1 as the MCP authorization spec
   * says. Without it a 401 fails the connection. Streamable HTTP servers. */
  auth?: AuthOptions;
  /** Node only: TLS for this server and its authorization server (a private CA, a client certificate). */
  tls?: TlsOptions;
}

/** Node's TLS options for a server behind a private CA or asking for a client certificate (PEM text or bytes).
 * Node also reads extra CAs from `NODE_EXTRA_CA_CERTS`. Not possible with `options.fetch` nor in browsers (there
 * the system's certificates apply). */
export interface TlsOptions {
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  pfx?: string | Uint8Array;
  passphrase?: string;
  servername?: string;
}

/** How this client authorizes with a server's authorization server: a person signing in (default), machine
 * credentials, or enterprise-managed authorization. Tokens, secrets and ID tokens are kept out of events, errors
 * and snapshots, and never reach the model. */
export type AuthOptions = SignInAuth | MachineAuth | EnterpriseAuth;

/** A person signs in (authorization code with PKCE). */
export interface SignInAuth {
  grant?: 'authorization_code';
  /** Where the authorization server sends the person back (registered with the client). */
  redirectUri: string;
  /** The person's part: open `url` (a browser, a popup, `chrome.identity.launchWebAuthFlow`) and resolve to the URL
   * the authorization server redirected to (the `redirectUri` with its query). Default in Node, for a loopback
   * `redirectUri` with a port (`http://127.0.0.1:8765/callback`): the URL is printed on stderr and a listener on
   * that port takes the redirect (5 minutes at most). Default in a page, for a `redirectUri` on the page's origin:
   * a popup, read once it is back on that origin. */
  authorize?: (url: string) => Promise<string> | string;
  /** Where tokens and the client's registration are kept, so that later agents start signed in. Default: this
   * process's (or page's) memory. States hold secrets. */
  storage?: TokenStorage;
  /** A client registered in advance; without one the client registers itself (or uses `clientMetadataUrl`). */
  clientId?: string;
  clientSecret?: string;
  /** This client's Client ID Metadata Document URL, used as its client id where the server accepts such documents. */
  clientMetadataUrl?: string;
  /** Scopes to ask for; default: the server's challenge, else what it lists. */
  scopes?: string[];
  /** The name a registration gives the client. Default `mcp-loop`. */
  clientName?: string;
}

/** A token store, by key (one per server URL): sync or async. */
export interface TokenStorage {
  get(key: string): unknown | Promise<unknown>;
  set(key: string, value: unknown): void | Promise<void>;
}

/** Node only: a token store in one JSON file readable by its owner only (default `MCP_LOOP_TOKENS`, else
 * `~/.config/mcp-loop/tokens.json`), so that sign-ins last from one process to the next. */
export declare function fileTokenStore(file?: string): TokenStorage;

/** Machine credentials (OAuth client credentials with a client secret). */
export interface MachineAuth {
  grant: 'client_credentials';
  clientId: string;
  /** The client's secret, or (`private_key_jwt`) its P-256 private key as PKCS#8 PEM: the key stays in this host,
   * which signs the client's ES256 assertion with WebCrypto. One of the two. */
  clientSecret?: string;
  privateKey?: string;
  storage?: TokenStorage;
  scopes?: string[];
}

/** Enterprise-managed authorization: the company IdP exchanges the person's ID token for an ID-JAG, which the
 * server's authorization server takes as a JWT bearer grant (single sign-on without a second login). */
export interface EnterpriseAuth {
  grant: 'enterprise';
  clientId: string;
  clientSecret: string;
  /** The IdP's token endpoint. */
  idpTokenEndpoint: string;
  /** The person's ID token from the IdP. */
  idToken: string;
  /** This client at the IdP, when the IdP wants it named. */
  idpClientId?: string;
  storage?: TokenStorage;
  scopes?: string[];
}

/** A local MCP server the host starts (Node and native only), talking over stdin/stdout. */
export interface StdioServerOptions extends CommonServerOptions {
  command: string;
  args?: string[];
  /** Added to the few variables it inherits (HOME, PATH, USER, …); nothing else of the host's environment is passed. */
  env?: Record<string, string>;
  cwd?: string;
}

export type ServerOptions = HttpServerOptions | StdioServerOptions;

/** Answers to what servers ask. Only the kinds given here are declared to servers. */
export interface Handlers {
  /** `elicitation/create`: return `{ action: 'accept' | 'decline' | 'cancel', content? }`. Defaults in the requested
   * schema fill fields the answer leaves out. */
  elicitation?: (params: any, context: HandlerContext) => unknown | Promise<unknown>;
  /** `sampling/createMessage`: return a `CreateMessageResult`. */
  sampling?: (params: any, context: HandlerContext) => unknown | Promise<unknown>;
  /** `roots/list`: return `{ roots: [{ uri, name? }] }`. */
  roots?: (params: any, context: HandlerContext) => unknown | Promise<unknown>;
}

export interface HandlerContext {
  /** The server asking. */
  server: string;
  /** The run whose tool call it belongs to, when known. */
  run?: number | null;
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
  /** Node only: TLS for the model endpoint (a self-hosted gateway behind a private CA). */
  tls?: TlsOptions;
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
  /** Strict mode for the function tools: `auto` (default) makes a tool strict when that keeps what it accepts
   * (optional arguments stay optional: nullable for the model, the nulls removed before the call); `true` also
   * drops constraints strict mode lacks; `false` sends schemas as the servers wrote them. */
  strict?: ConvertOptions['strict'];
  /** Prefix tool names with the server's name: `auto` (default: only with more than one server), `always`, `never`. */
  toolPrefix?: ConvertOptions['toolPrefix'];
  /** The cap on tool descriptions in characters. Default 1024. */
  maxDescriptionChars?: number;
  /** Check the model's arguments against each tool's own input schema before calling it; a mismatch goes back to the
   * model as an error output. Default true. */
  validateArguments?: boolean;
  /** When a server changes a tool's definition (description, input schema or annotations, compared exactly; key order
   * aside) after it was first listed: `accept`, `warn` (default: use it, with a warning), or `block` (hide the tool
   * while it differs). A `toolChanged` event is sent in every case. */
  toolChanges?: 'accept' | 'warn' | 'block';
  /** How each request continues the conversation: `auto` (default: `previous_response_id`, switching to `replay`
   * when the endpoint keeps no responses), `previous_response_id`, or `replay` (the whole history in `input`, with
   * `store: false` and reasoning items kept with their encrypted content). */
  continuation?: 'auto' | 'previous_response_id' | 'replay';
  /** Which calls wait for a person (`run` then resolves `awaiting_approval`). Default `never`. */
  approve?: ApprovePolicy;
  /** What a resumed run does with a call that was running when its snapshot was taken: `retry-if-idempotent`
   * (default: run it again only if annotated read-only or idempotent, else tell the model the outcome is
   * unknown), `retry`, or `fail`. */
  inflight?: 'retry-if-idempotent' | 'retry' | 'fail';
  /** The most calls the model may make in one turn; further calls are answered with an error. Default 64. */
  maxToolCallsPerTurn?: number;
  /** `parallel_tool_calls` for every request, when set. */
  parallelToolCalls?: boolean;
  /** How often a model request that failed in a way that may heal (network, timeout, 408, 409, 429, 5xx) is
   * tried again, after the endpoint's `Retry-After` or a jittered exponential backoff. Default 2. */
  maxRetries?: number;
  /** The longest a run may take, in milliseconds; then it ends `cancelled`. Default: no limit. */
  runTimeoutMs?: number;
  /** The model endpoint. */
  portkey?: PortkeyOptions;
  /** Instead of Portkey over HTTP: a function given each Responses request body (with the headers mcp-loop would
   * send, trace and span ids included, and a signal that aborts) that returns the Response, or for a `stream: true`
   * request the stream's events as an async iterable (what the OpenAI and Portkey SDKs return), for example around
   * the `portkey-ai` SDK. An error with a numeric `status` counts as that HTTP status (429 and 5xx are retried). */
  callModel?: (
    request: Record<string, unknown>,
    context: { headers: Record<string, string>; signal: AbortSignal },
  ) => Promise<Record<string, unknown> | AsyncIterable<Record<string, unknown>>>;
  /** The MCP servers by name. The name prefixes tool names when there is more than one server. A server may be
   * the application's own MCP client. */
  servers?: Record<string, ServerOptions | ClientServerOptions | McpClientLike | McpConnection | string>;
  /** Answers to what servers ask (elicitation, sampling, roots). */
  handlers?: Handlers;
  /** The `fetch` used for every request. Default: in Node, Node's own `node:http`/`node:https` client with
   * keep-alive (less CPU per request than `fetch`); in browsers `globalThis.fetch`. */
  fetch?: typeof fetch;
}

export interface RunOptions {
  /** `x-portkey-trace-id` for this run. Default: a fresh random id per run (a resumed run keeps its own). */
  traceId?: string;
  /** Called with every step of the run, as it happens. What it throws is ignored: it never ends the run. */
  onEvent?: (event: AgentEvent) => void;
  /** Called with the run's snapshot after every step (a model answer, a tool result, a resume), before the calls
   * of that step go out: keep the latest, and `agent.resume(snapshot)` continues the run in any host after a crash.
   * A promise it returns holds those calls back until it settles (at most 30 s); a store that fails or is late
   * gives the run a `warning` event and the run goes on. */
  onSnapshot?: (snapshot: RunSnapshot) => void;
  /** Aborting it ends the run with status `cancelled`: MCP calls in flight get `notifications/cancelled`, the
   * model request is aborted. */
  signal?: AbortSignal;
  /** Ask for streamed model responses (`textDelta` events). `agent.stream` sets it. */
  stream?: boolean;
  /** `run` and `stream` only: continue the conversation the provider stored up to this response (an earlier
   * result's `responseId`; continuation `auto` or `previous_response_id`). */
  previousResponseId?: string;
  /** `run` and `stream` only: continue a conversation from its items (an earlier result's `history`), sent in
   * front of the input; works in every continuation mode. Not together with `previousResponseId`. */
  history?: Array<Record<string, unknown>>;
}

/** A run's state as versioned JSON (`format: 'mcp-loop/run'`), to resume it anywhere. It holds the conversation
 * and the tool calls, never a server's address or credentials. */
export interface RunSnapshot {
  format: 'mcp-loop/run';
  version: number;
  traceId?: string;
  state: Record<string, unknown>;
}

/** Decisions on pending calls: `{ [callId]: boolean | { approved, reason } }` or a list. */
export type Decisions =
  | Record<string, boolean | { approved: boolean; reason?: string }>
  | Array<{ callId: string; approved: boolean; reason?: string }>;

/** A call waiting for a person's decision. */
export interface PendingCall {
  callId: string;
  /** The function name the model used. */
  name: string;
  server: string;
  /** The original MCP tool name. */
  tool: string;
  /** The arguments the server would get. */
  arguments: Record<string, unknown>;
  /** The tool's annotations as its server gave them (hints, untrusted). */
  annotations?: Record<string, unknown>;
}

/** Responses API input items, passed through untouched. */
export type ResponseInputItem = Record<string, unknown>;

export interface Agent {
  /** Runs one conversation until it ends or pauses for approvals. Rejects with `McpLoopError` (codes `config`,
   * `mcp`, `model`, `cancelled`). */
  run(input: string | ResponseInputItem[], options?: RunOptions): Promise<RunResult>;
  /** Continues a run from its snapshot (a paused run's, or one given to `onSnapshot`; taken by any host), with
   * decisions for the calls waiting for approval. A rejected call tells the model "rejected by the user". */
  resume(snapshot: RunSnapshot | string, decisions?: Decisions, options?: RunOptions): Promise<RunResult>;
  /** Runs one conversation with streamed responses: its events as they happen, then `{ type: 'runCompleted',
   * result }`. Leaving the loop early cancels the run. */
  stream(input: string | ResponseInputItem[], options?: RunOptions): AsyncIterableIterator<AgentEvent | { type: 'runCompleted'; result: RunResult }>;
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
  /** The arguments as sent to the server (strict mode's nulls removed), or as the model sent them when they were
   * refused (the raw string when they did not parse). */
  arguments: unknown;
  /** What the model got back (`null` while it has not run). */
  output: ToolOutput | null;
  isError: boolean;
  /** `done` (it has its output: it ran, or was refused, rejected or cancelled), `awaiting_approval` (a paused run), or
   * `not_run` (the run ended or paused first, as `max_turns` does with the calls the model asked for last). */
  status: 'done' | 'awaiting_approval' | 'not_run';
}

/** A tool output as the model gets it: a string when it is all text, else a list of parts. */
export type ToolOutput =
  | string
  | Array<
      | { type: 'input_text'; text: string }
      | { type: 'input_image'; image_url: string }
      | { type: 'input_file'; filename: string; file_data: string }
    >;

/** How a run ended: a finished run, or one paused for approvals (then `pending` and `snapshot` are there). */
export type RunResult = FinishedRun | PausedRun;

interface RunResultFields {
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
  /** Every model turn: its response id and Portkey's `x-portkey-*` response headers (retry count, cache status,
   * provider, trace id). */
  turnDetails: Array<{ turn: number; responseId: string; headers?: Record<string, string> }>;
  /** Why a cancelled run ended. */
  reason?: string;
}

export interface FinishedRun extends RunResultFields {
  /** `completed`; `max_turns` when the model still wanted tools after `maxTurns`; `incomplete` when the provider
   * cut the response; `cancelled` when the signal was aborted or `runTimeoutMs` passed (`reason`). */
  status: 'completed' | 'max_turns' | 'incomplete' | 'cancelled';
  pending?: undefined;
  snapshot?: undefined;
  /** Every item of the conversation so far, for the next run's `history`: when the run kept all of it
   * (continuation `auto` or `replay`, not continued by `previousResponseId`). The next run may also continue
   * with `previousResponseId: responseId` where the provider stores responses. */
  history?: Array<Record<string, unknown>>;
}

export interface PausedRun extends RunResultFields {
  /** Calls wait for a person's decision. */
  status: 'awaiting_approval';
  /** The calls waiting for a decision. */
  pending: PendingCall[];
  /** The run's state, for `agent.resume`. */
  snapshot: RunSnapshot;
}

export type AgentEvent =
  | { type: 'runStarted'; traceId?: string; resumed: boolean }
  | { type: 'textDelta'; turn: number; delta: string }
  /** A model request is tried again; `textDelta`s of the failed attempt are void (the turn's text streams again from its start). */
  | { type: 'modelRetry'; turn: number; attempt: number; delayMs: number; error: string }
  | { type: 'serverConnected'; server: string; protocolVersion: string; serverInfo?: { name: string; version?: string } }
  | { type: 'toolsListed'; count: number; strict: number; notes: string[] }
  | { type: 'toolChanged'; server: string; tool: string; blocked: boolean }
  | { type: 'turnStarted'; turn: number }
  | { type: 'turnCompleted'; turn: number; responseId: string; toolCalls: number; text: string }
  | { type: 'toolCallStarted'; callId: string; name: string; server?: string; tool?: string; arguments: unknown }
  | { type: 'toolCallFinished'; callId: string; name: string; server?: string; tool?: string; durationMs?: number; output: ToolOutput; isError: boolean }
  | { type: 'toolProgress'; callId: string; server: string; progress: number; total?: number; message?: string }
  | { type: 'serverLog'; server: string; level: string; logger?: string; data: unknown }
  | { type: 'toolsChanged'; server: string }
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

/** How tools become function tools (the same options `createAgent` takes). */
export interface ConvertOptions {
  /** `auto` (default), `true` (strict wherever possible, dropping constraints strict mode lacks) or `false`. */
  strict?: 'auto' | boolean;
  /** Prefix names with the server's name: `auto` (default; one server means no prefix), `always`, `never`. */
  toolPrefix?: 'auto' | 'always' | 'never';
  /** The cap on descriptions in characters. Default 1024. */
  maxDescriptionChars?: number;
}

export interface ToFunctionToolsOptions extends ConvertOptions {
  /** The server these tools come from (routes and prefixes). Default `default`. */
  server?: string;
}

export interface FunctionTools {
  tools: FunctionTool[];
  /** Every entry of the input that was skipped or hidden, and every tool not made strict, with the reason. */
  notes: string[];
  /** Where a function name the model used leads, or `null`. */
  resolve(name: string): { server: string; tool: string } | null;
}

export declare function createAgent(options: AgentOptions): Agent;

/** What `ToolLoop.next()` returns. */
export type LoopOutput =
  | { type: 'callModel'; id: number; request: Record<string, unknown> }
  /** `retryIfInterrupted`: whether the call may be made again if the host lost track of it while it ran (the
   * `inflight` policy applied to the tool's annotations); when not, report `toolInterrupted(id)`. */
  | { type: 'callTool'; id: number; callId: string; server: string; tool: string; arguments: Record<string, unknown>; retryIfInterrupted: boolean }
  | { type: 'cancel'; id: number }
  | { type: 'event'; event: AgentEvent }
  | { type: 'paused'; pending: PendingCall[] }
  | { type: 'done'; result?: RunResult; error?: McpLoopError }
  | { type: 'wait' };

/** The approval policies the tool loop alone can apply itself (a function needs an agent; use `decide()`). */
export type ApproveMode = 'never' | 'always' | 'destructive';

/** The agent options that shape one run of the tool loop alone: no connections, handlers or functions (the host
 * decides paused calls with `decide()`). */
export type ToolLoopOptions = Omit<AgentOptions, 'servers' | 'portkey' | 'handlers' | 'fetch' | 'callModel' | 'approve'> & {
  approve?: ApproveMode;
  servers?: Record<string, { approve?: ApproveMode; maxConcurrentCalls?: number }>;
};

/** Each server's `tools/list` tools, by server name, optionally with a label. */
export type ServerTools = Record<string, McpTool[] | { tools: McpTool[]; label?: string }>;

/** The tool loop alone, for hosts with their own MCP clients and model client. Call `next()` until `wait`,
 * `paused` or `done`; perform effects concurrently; report each outcome with its id, then call `next()` again. */
export declare class ToolLoop {
  /** `options`: the agent options that shape a run (model, instructions, limits, strict, continuation, approve as
   * a string, `servers: { name: { approve, maxConcurrentCalls } }`); `tools`: each server's `tools/list` tools. */
  /** `traceId` is kept in the run's snapshot and result; `now` is the loop's clock in milliseconds (default
   * `Date.now`; a durable host passes one that gives the same times when it replays). */
  static start(options: ToolLoopOptions, tools: ServerTools, input: string | ResponseInputItem[], settings?: { traceId?: string; now?: () => number }): ToolLoop;
  static restore(options: ToolLoopOptions, tools: ServerTools, snapshot: RunSnapshot | string, decisions?: Decisions, settings?: { now?: () => number }): ToolLoop;
  next(): LoopOutput;
  /** The model's response to effect `id`, with the endpoint's `x-portkey-*` response headers (for `turnDetails`).
   * Each outcome method returns false when `id` is no longer pending (an answer that raced a cancel: nothing
   * changes) and throws `McpLoopError { code: 'host' }` for an id this loop never issued. */
  modelResponse(id: number, response: Record<string, unknown>, details?: { headers?: Record<string, string> | Headers }): boolean;
  /** A failed model request (`status` when the endpoint answered). */
  modelError(id: number, error: { status?: number; message: string }): boolean;
  /** A tool's `CallToolResult`. */
  toolResult(id: number, result: unknown): boolean;
  /** A tool call that did not complete; the message is shown to the model. */
  toolFailed(id: number, message: string): boolean;
  /** A call the host lost track of while it ran (a crash before its result was recorded) and may not make again
   * (`retryIfInterrupted` false): the model is told its outcome is unknown. */
  toolInterrupted(id: number): boolean;
  decide(decisions: Decisions): void;
  cancel(reason?: string): void;
  snapshot(): RunSnapshot;
}

export type ConnectOptions = ServerOptions & {
  /** The name used in messages and events. Default `server`. */
  name?: string;
  handlers?: Handlers;
  /** Called with the connection's events (`serverConnected`, `serverLog`, `toolsChanged`, `warning`, …). What it
   * throws is ignored. */
  onEvent?: (event: AgentEvent) => void;
  fetch?: typeof fetch;
};

/** An MCP tool as the server describes it (verbatim). */
export type McpTool = { name: string; title?: string; description?: string; inputSchema?: Record<string, unknown>; [key: string]: unknown };

export interface McpConnection {
  serverInfo: { name: string; version?: string } | null;
  protocolVersion: string | null;
  /** Every tool of every page, each exactly as the server sent it: every field, unknown ones too (`toFunctionTools`
   * hides task-only tools with a note, as the agent does). Entries that are not usable tools (no name, a repeated
   * name, an invalid `x-mcp-header`) are left out with a warning. Untrusted server data. */
  listTools(): Promise<McpTool[]>;
  /** Calls a tool; resolves to its `CallToolResult`. Aborting `signal` cancels it on the server. */
  callTool(
    name: string,
    args?: Record<string, unknown>,
    options?: { signal?: AbortSignal; onProgress?: (progress: { progress: number; total?: number; message?: string }) => void },
  ): Promise<{ content: Array<Record<string, unknown>>; structuredContent?: unknown; isError?: boolean; [key: string]: unknown }>;
  /** Ends the session (DELETE, or the process) and resolves when that is done. */
  close(): Promise<void>;
}

/** MCP alone: connects to one server and resolves once it answered (its tools were listed once). */
export declare function connectMcp(options: ConnectOptions): Promise<McpConnection>;

/** What `init` loads the wasm core from: a URL, a `Response`, the file's bytes, or a compiled module. */
export type WasmSource = string | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Loads the wasm core. Node loads it as the package is imported, and a browser on first use (`createAgent`'s
 * first run, `connectMcp`), from `mcp_loop_bg.wasm` next to the package (exported as `mcp-loop/mcp_loop_bg.wasm`
 * for bundlers and extensions to copy). Call it first where the file lives elsewhere (`init({ wasm: url })`),
 * and before the synchronous `toFunctionTools` and `ToolLoop` in a browser. A failure rejects with
 * `code: 'host'`, naming the source and the cause (a missing file, a Content Security Policy without
 * `'wasm-unsafe-eval'`); the next call tries again.
 */
export declare function init(options?: { wasm?: WasmSource }): Promise<void>;

/** Converts the `tools` of a `tools/list` result (or the whole result) to function tools. */
export declare function toFunctionTools(tools: unknown, options?: ToFunctionToolsOptions): FunctionTools;

export declare class McpLoopError extends Error {
  /** `config` (bad options or input), `mcp` (a server failed), `model` (the provider failed), `cancelled`, `host`. */
  code: 'config' | 'mcp' | 'model' | 'cancelled' | 'host';
  /** HTTP status of a model error. */
  status?: number;
  /** The server of an `mcp` error. */
  server?: string;
  /**
   * In a browser, the origin of an MCP server whose request the browser refused (CORS, or an extension's missing
   * `host_permissions`). Kept out of `message`, which may be logged or read by the model.
   */
  origin?: string;
  /** The message without the prefix naming its source. */
  detail?: string;
}
