// Parts the application brings itself, answered in-process as if they were HTTP: an MCP client object it
// already owns (for example an official MCP SDK `Client`) given as a server, and a model function (for example
// wrapping the `portkey-ai` SDK). The core speaks to them exactly as to a remote server or endpoint, so
// sessions, timeouts, concurrency limits, approvals, cancellation and snapshots work the same.

const encoder = new TextEncoder();
const utf8 = new TextDecoder();

/** The URL the core is given for a server the application brings as an object (never fetched). */
export const localUrl = (name) => `http://mcp-loop.local/${encodeURIComponent(name)}`;

/** Marks the objects `connectMcp` returns, whose `callTool(name, args, options)` differs from the SDK's. */
export const CONNECTION = Symbol('mcp-loop connection');

/** True for an object with `listTools()` and `callTool()`. */
export const isClient = (server) => typeof server?.listTools === 'function' && typeof server?.callTool === 'function';

const json = (status, body) => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A JSON-RPC error for the core. Only the server's own JSON-RPC errors keep their message: anything else a
 * client throws (HTTP bodies, redirect targets) may carry what must not reach the model. */
function rpcError(id, error) {
  const code = error?.code;
  const own = Number.isInteger(code) && code <= -32000 && code >= -32768;
  const message = own ? String(error.message ?? error) : `the MCP client failed (${error?.name ?? 'Error'})`;
  return { jsonrpc: '2.0', id, error: { code: own ? code : -32603, message } };
}

/** The core owns timeouts (reset by progress); the client's own must not cut a call short first. */
const NO_CLIENT_TIMEOUT = { timeout: 2 ** 31 - 1, maxTotalTimeout: 2 ** 31 - 1, resetTimeoutOnProgress: true };

/**
 * An MCP server in front of `client`: answers the core's JSON-RPC requests by calling `client.listTools({ cursor })`
 * (a `{ tools, nextCursor }` result, or an array of tools) and `client.callTool({ name, arguments }, undefined,
 * { signal, onprogress })`. Progress goes back as SSE notifications; `notifications/cancelled` or an aborted
 * request aborts the call. Tool list changes on the client are not relayed (list them again with a new agent).
 */
export function clientServer(name, client) {
  const calls = new Map();
  return async (request, signal) => {
    if (request.method === 'DELETE') return json(200);
    if (request.method !== 'POST') return new Response(null, { status: 405 });
    let message;
    try {
      message = JSON.parse(utf8.decode(request.body));
    } catch {
      return json(200, rpcError(null, { code: -32700, message: 'parse error' }));
    }
    const { id, method, params = {} } = message;
    if (id === undefined) {
      if (method === 'notifications/cancelled') calls.get(params.requestId)?.abort(new Error(params.reason ?? 'cancelled'));
      return new Response(null, { status: 202 });
    }
    try {
      switch (method) {
        case 'initialize': {
          const info = client.getServerVersion?.() ?? { name, version: '0' };
          const result = { protocolVersion: params.protocolVersion, capabilities: { tools: {} }, serverInfo: info };
          return json(200, { jsonrpc: '2.0', id, result });
        }
        case 'ping':
          return json(200, { jsonrpc: '2.0', id, result: {} });
        case 'tools/list': {
          const listed = client[CONNECTION]
            ? await client.listTools()
            : await client.listTools(params.cursor ? { cursor: params.cursor } : undefined, { signal, ...NO_CLIENT_TIMEOUT });
          const result = Array.isArray(listed) ? { tools: listed } : listed;
          return json(200, { jsonrpc: '2.0', id, result });
        }
        case 'tools/call':
          return callTool(client, calls, id, params, signal);
        default:
          return json(200, rpcError(id, { code: -32601, message: `method not found: ${method}` }));
      }
    } catch (error) {
      return json(200, rpcError(id, error));
    }
  };
}

/** A tool call as an SSE response: progress notifications as they come, then the result (or the error). */
function callTool(client, calls, id, params, signal) {
  const abort = new AbortController();
  calls.set(id, abort);
  signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
  const token = params._meta?.progressToken;
  const body = new ReadableStream({
    async start(out) {
      const send = (message) => out.enqueue(encoder.encode(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...message })}\n\n`));
      const onprogress = (p) => token !== undefined && send({ method: 'notifications/progress', params: { progressToken: token, ...p } });
      try {
        const args = params.arguments ?? {};
        const result = client[CONNECTION]
          ? await client.callTool(params.name, args, { signal: abort.signal, onProgress: onprogress })
          : await client.callTool({ name: params.name, arguments: args }, undefined, { signal: abort.signal, onprogress, ...NO_CLIENT_TIMEOUT });
        send({ id, result });
      } catch (error) {
        send(rpcError(id, error));
      } finally {
        calls.delete(id);
        out.close();
      }
    },
    cancel() {
      abort.abort(new Error('the request was aborted'));
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

/**
 * The model endpoint in front of `callModel(request, { headers, signal })`: it gets the Responses request body
 * (and the headers mcp-loop would have sent, with the trace and span ids, and a signal that aborts) and returns
 * the Response object, or, for a request with `stream: true`, either that or an async iterable of the stream's
 * events (what the OpenAI and Portkey SDKs return). A thrown error with a numeric `status` is answered with that
 * status (so 429 and 5xx are retried); any other error counts as a network failure.
 */
export function modelFunction(callModel) {
  return async (request, signal) => {
    let response;
    try {
      response = await callModel(JSON.parse(utf8.decode(request.body)), { headers: Object.fromEntries(request.headers), signal });
    } catch (error) {
      if (typeof error?.status !== 'number') throw error;
      return json(error.status, { error: { message: String(error.message ?? error) } });
    }
    if (typeof response?.[Symbol.asyncIterator] !== 'function') return json(200, response);
    // Pulled one event at a time; cancelling the body (a timeout, a cancelled run) closes the application's
    // iterable at once, even while it waits for a stalled upstream.
    const events = response[Symbol.asyncIterator]();
    const body = new ReadableStream({
      async pull(out) {
        try {
          const { done, value: event } = await events.next();
          if (done) return out.close();
          out.enqueue(encoder.encode(`event: ${event?.type ?? 'message'}\ndata: ${JSON.stringify(event)}\n\n`));
        } catch (error) {
          out.enqueue(encoder.encode(`event: error\ndata: ${JSON.stringify({ type: 'error', code: 'server_error', message: String(error?.message ?? error) })}\n\n`));
          out.close();
        }
      },
      cancel() {
        Promise.resolve(events.return?.()).catch(() => {});
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
}
