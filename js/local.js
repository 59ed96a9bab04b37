// Parts the application brings itself, answered in-process as if they were HTTP: an MCP client object it
// already owns (for example an official MCP SDK `Client`) given as a server, and a model function (for example
// wrapping the `portkey-ai` SDK). The core speaks to them exactly as to a remote server or endpoint, so
// sessions, timeouts, concurrency limits, approvals, cancellation and snapshots work the same.

const encoder = new TextEncoder();

/** The URL the core is given for a server the application brings as an object (never fetched). */
export const localUrl = (name) => `http://mcp-loop.local/${encodeURIComponent(name)}`;

/** True for an object with `listTools()` and `callTool()`. */
export const isClient = (server) => typeof server?.listTools === 'function' && typeof server?.callTool === 'function';

const json = (status, body) => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const rpcError = (id, code, message) => json(200, { jsonrpc: '2.0', id, error: { code, message } });

/**
 * An MCP server in front of `client`: answers the core's JSON-RPC requests by calling `client.listTools({ cursor })`
 * (a `{ tools, nextCursor }` result, or an array of tools) and `client.callTool({ name, arguments }, undefined,
 * { signal, onprogress })`. Progress goes back as SSE notifications; `notifications/cancelled` aborts the call.
 */
export function clientServer(name, client) {
  const calls = new Map();
  return async (request) => {
    if (request.method === 'DELETE') return json(200);
    if (request.method !== 'POST') return new Response(null, { status: 405 });
    let message;
    try {
      message = JSON.parse(request.body);
    } catch {
      return rpcError(null, -32700, 'parse error');
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
          const listed = await client.listTools(params.cursor ? { cursor: params.cursor } : undefined);
          const result = Array.isArray(listed) ? { tools: listed } : listed;
          return json(200, { jsonrpc: '2.0', id, result });
        }
        case 'tools/call':
          return callTool(client, calls, id, params);
        default:
          return rpcError(id, -32601, `method not found: ${method}`);
      }
    } catch (error) {
      return rpcError(id, typeof error?.code === 'number' ? error.code : -32603, String(error?.message ?? error));
    }
  };
}

/** A tool call as an SSE response: progress notifications as they come, then the result (or the error). */
function callTool(client, calls, id, params) {
  const abort = new AbortController();
  calls.set(id, abort);
  const token = params._meta?.progressToken;
  const body = new ReadableStream({
    async start(out) {
      const send = (message) => out.enqueue(encoder.encode(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...message })}\n\n`));
      const onprogress = (p) => token !== undefined && send({ method: 'notifications/progress', params: { progressToken: token, ...p } });
      try {
        const result = await client.callTool({ name: params.name, arguments: params.arguments ?? {} }, undefined, { signal: abort.signal, onprogress });
        send({ id, result });
      } catch (error) {
        send({ id, error: { code: typeof error?.code === 'number' ? error.code : -32603, message: String(error?.message ?? error) } });
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
 * The model endpoint in front of `callModel(request, { headers })`: it gets the Responses request body (and the
 * headers mcp-loop would have sent, with the trace and span ids) and returns the Response object. A thrown error
 * with a numeric `status` is answered with that status (so 429 and 5xx are retried); any other error counts as
 * a network failure.
 */
export function modelFunction(callModel) {
  return async (request) => {
    try {
      const response = await callModel(JSON.parse(request.body), { headers: Object.fromEntries(request.headers) });
      return json(200, response);
    } catch (error) {
      if (typeof error?.status !== 'number') throw error;
      return json(error.status, { error: { message: String(error.message ?? error) } });
    }
  };
}
