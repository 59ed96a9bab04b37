// An MCP server that counts and times its tool calls, for the tool-loop tests (are independent calls run in
// parallel, are the calls of a stopped run cancelled). Built on the official MCP TypeScript SDK (McpServer over
// Streamable HTTP, stateful sessions), listening on 127.0.0.1. Tools:
//   slow-lookup  {label, note?}  read-only: waits `delayMs`, answers `looked up <label>`
//   slow-write   {label}         destructive, not idempotent: waits `delayMs`, answers `wrote <label>`
//   wait-forever {label}         never answers; ends only when the request is cancelled (notifications/cancelled,
//                                or the session closing), capped at 5 minutes so it cannot leak
// Every call is recorded as it arrives: `{ tool, label, session, startMs }` (Date.now() milliseconds), plus `endMs` when it
// answers, or `cancelled: true, reason` (and `endMs`) when it is cancelled. `calls()` returns copies of the records
// in arrival order, `reset()` clears them; over HTTP, `GET /__calls` and `POST /__reset` do the same (for hosts
// that are not Node, such as the native Rust tests).
//
// Run alone: `node tests/support/counting-server.mjs [port] [delayMs]` prints `counting server listening on <url>`.

import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
// zod is the SDK's own required peer dependency (McpServer takes its input schemas as zod shapes).
import { z } from 'zod';

const FOREVER_CAP_MS = 5 * 60_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function reasonText(reason) {
  if (typeof reason === 'string') return reason;
  return reason?.message ?? (reason === undefined ? null : String(reason));
}

/** One McpServer per session (an SDK server serves one transport). */
function countingServer({ delayMs, record, waiting }) {
  const server = new McpServer({ name: 'counting', version: '1.0.0' }, { capabilities: { tools: {} } });
  const slow = (tool, verb) => async ({ label }, extra) => {
    const call = record({ tool, label, session: extra?.sessionId, startMs: Date.now() });
    await sleep(delayMs);
    call.endMs = Date.now();
    return { content: [{ type: 'text', text: `${verb} ${label}` }] };
  };
  server.registerTool(
    'slow-lookup',
    {
      description: `Looks something up; takes ${delayMs} ms.`,
      inputSchema: { label: z.string().describe('What to look up'), note: z.string().optional().describe('Free text') },
      annotations: { readOnlyHint: true },
    },
    slow('slow-lookup', 'looked up'),
  );
  server.registerTool(
    'slow-write',
    {
      description: `Writes something; takes ${delayMs} ms.`,
      inputSchema: { label: z.string().describe('What to write') },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    },
    slow('slow-write', 'wrote'),
  );
  server.registerTool(
    'wait-forever',
    {
      description: 'Never answers; waits until the call is cancelled.',
      inputSchema: { label: z.string().describe('A name for this wait') },
      annotations: { readOnlyHint: true },
    },
    ({ label }, extra) => {
      const call = record({ tool: 'wait-forever', label, startMs: Date.now() });
      return new Promise((resolve, reject) => {
        const finish = () => {
          clearTimeout(timer);
          extra.signal.removeEventListener('abort', onAbort);
          waiting.delete(stop);
        };
        const onAbort = () => {
          finish();
          Object.assign(call, { cancelled: true, reason: reasonText(extra.signal.reason), endMs: Date.now() });
          reject(new Error('cancelled'));
        };
        // The cap (and the server closing) answer with an error, so nothing waits past them.
        const stop = (why) => {
          finish();
          Object.assign(call, { endMs: Date.now(), gaveUp: why });
          resolve({ content: [{ type: 'text', text: `wait-forever ${label} gave up: ${why}` }], isError: true });
        };
        const timer = setTimeout(() => stop('5 minute cap'), FOREVER_CAP_MS);
        timer.unref();
        waiting.add(stop);
        if (extra.signal.aborted) return onAbort();
        extra.signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  );
  return server;
}

/**
 * Starts the server on 127.0.0.1 (`port` 0 picks a free one). Resolves to `{ url, calls, reset, close }`; `url`
 * is the MCP endpoint (ending in /mcp).
 */
/** True when `calls` ran at the same time: the last one started before the first one ended. */
export const overlap = (calls) => Math.max(...calls.map((c) => c.startMs)) < Math.min(...calls.map((c) => c.endMs));

export function startCountingServer({ delayMs = 300, port = 0 } = {}) {
  const calls = [];
  const sessions = new Map();
  const waiting = new Set();
  const record = (call) => {
    calls.push(call);
    return call;
  };
  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const http = createServer(async (req, res) => {
    // Any origin may call it (the browser tests run a page on another origin), as server-everything allows.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'mcp-session-id, mcp-protocol-version');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
      });
      return res.end();
    }
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/__calls' && req.method === 'GET') return json(res, 200, calls);
    if (path === '/__reset' && req.method === 'POST') {
      calls.length = 0;
      return json(res, 200, { ok: true });
    }
    if (path !== '/mcp') return json(res, 404, { error: `no route ${req.method} ${path}` });
    const sessionId = req.headers['mcp-session-id'];
    let transport = sessionId && sessions.get(sessionId);
    if (!transport) {
      if (sessionId || req.method !== 'POST') {
        const error = { code: -32000, message: sessionId ? 'Session not found' : 'Bad Request: no session' };
        return json(res, sessionId ? 404 : 400, { jsonrpc: '2.0', error, id: null });
      }
      // A POST without a session must be `initialize`; the SDK's transport checks that and answers 400 otherwise.
      const fresh = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, fresh),
      });
      fresh.onclose = () => fresh.sessionId && sessions.delete(fresh.sessionId);
      await countingServer({ delayMs, record, waiting }).connect(fresh);
      transport = fresh;
    }
    await transport.handleRequest(req, res);
  });
  return new Promise((resolve, reject) => {
    http.on('error', reject);
    http.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${http.address().port}/mcp`,
        calls: () => calls.map((call) => ({ ...call })),
        /** Waits (at most 2 s) until the first call recorded was told it is cancelled. */
        firstCancelled: async () => {
          for (let i = 0; i < 100 && !calls[0]?.cancelled; i++) await new Promise((r) => setTimeout(r, 20));
        },
        reset: () => {
          calls.length = 0;
        },
        close: async () => {
          for (const stop of [...waiting]) stop('server closed');
          for (const transport of [...sessions.values()]) await transport.close().catch(() => {});
          http.closeAllConnections();
          await new Promise((r) => http.close(r));
        },
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startCountingServer({ port: Number(process.argv[2] ?? 0), delayMs: Number(process.argv[3] ?? 300) });
  console.log(`counting server listening on ${server.url}`);
}
