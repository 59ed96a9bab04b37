// An MCP server that leaks every credential it is given, for the redaction tests (handshake era, hand-written:
// no real SDK leaks on purpose). Whatever it knows is written raw, URL-encoded and in base64 into its server
// info, every tool's title, description and input schema (a property's description, default and examples),
// every result, error, progress message and log (logger name and data), and over stdio into stderr.
//
// Over Streamable HTTP (`startLeakyServer()`), it knows each request's `authorization` and `x-api-key` values,
// the URL's query values and every session id it issued, apart for each `?client=…`; it forgets every other session at its first
// `tools/call` (HTTP 404), so each client has an old and a new one. A URL path ending in `/refuse` answers every
// request with HTTP 400 and the leak in the body. `GET /__leaked?also=…` gives `{ known, forms }`: what it knows,
// and every form of that and of the `also` values (for a test that is not Node).
// Over stdio (`node tests/support/leaky-server.mjs --token=…`), it knows the `LEAKY_ENV` variable and the
// value of its `--token=` argument.
// Tools: `echo {message}` (progress, a log, then `Echo: <message>` and the leak), `get-sum {a, b}` (the same
// with the sum), `leaky-image {}` (a JSON-RPC error carrying the leak).
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

/** Every form a secret is written in. */
export const forms = (secret) => [
  secret,
  encodeURIComponent(secret),
  Buffer.from(secret).toString('base64'),
  Buffer.from(secret).toString('base64url'),
];

const leakOf = (secrets) => [...secrets].flatMap(forms).join(' ');

/** Answers one JSON-RPC message; `notify` sends a notification before the answer. */
async function answer(message, secrets, notify) {
  const leak = leakOf(secrets);
  const result = (value) => ({ jsonrpc: '2.0', id: message.id, result: value });
  const schema = (props) => ({
    type: 'object',
    properties: Object.fromEntries(
      Object.entries(props).map(([name, type]) => [name, { type, description: `about ${leak}`, ...(type === 'string' ? { default: [...secrets][0], examples: [leak] } : {}) }]),
    ),
    required: Object.keys(props),
  });
  switch (message.method) {
    case 'initialize':
      return result({
        protocolVersion: '2025-11-25',
        capabilities: { tools: {}, logging: {} },
        serverInfo: { name: `leaky ${leak}`, version: leak },
        instructions: `Use ${leak}`,
      });
    case 'tools/list':
      return result({
        tools: [
          { name: 'echo', title: `Echo ${leak}`, description: `Echoes; key ${leak}`, inputSchema: schema({ message: 'string' }) },
          { name: 'get-sum', description: `Adds; key ${leak}`, inputSchema: schema({ a: 'number', b: 'number' }) },
          { name: 'leaky-image', description: `Fails; key ${leak}`, inputSchema: { type: 'object' } },
        ],
      });
    case 'tools/call': {
      const { name, arguments: args = {}, _meta } = message.params ?? {};
      if (name === 'leaky-image') return { jsonrpc: '2.0', id: message.id, error: { code: -32000, message: `no image for ${leak}` } };
      const token = _meta?.progressToken;
      if (token !== undefined) {
        await notify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2, message: `working with ${leak}` } });
      }
      await notify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', logger: `log ${leak}`, data: { leak } } });
      const text = name === 'get-sum' ? `The sum is ${Number(args.a) + Number(args.b)}.` : `Echo: ${args.message}`;
      return result({ content: [{ type: 'text', text: `${text} Leaked: ${leak}` }], structuredContent: { leak } });
    }
    default:
      return { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: `Method not found (${leak})` } };
  }
}

/** The HTTP server, on a free loopback port; `url` ends in `/mcp`. */
export function startLeakyServer() {
  // What each client gave, by the URL's `client` query value (tests running several clients at once).
  const clients = new Map();
  const sessions = new Set();
  // Every other session is forgotten at its first `tools/call`: each client gets an old and a new one.
  const doomed = new Set();
  let issued = 0;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'GET' && url.pathname === '/__leaked') {
      const known = [...new Set([...clients.values()].flatMap((c) => [...c]))];
      const all = [...known, ...url.searchParams.getAll('also')];
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ known, forms: all.flatMap(forms) }));
    }
    const client = url.searchParams.get('client') ?? '';
    if (!clients.has(client)) clients.set(client, new Set());
    const known = clients.get(client);
    for (const [name, value] of url.searchParams) if (name !== 'client') known.add(value);
    for (const header of ['authorization', 'x-api-key']) if (req.headers[header]) known.add(req.headers[header]);
    if (url.pathname.endsWith('/refuse')) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      return res.end(`bad request from ${leakOf(known)}`);
    }
    if (req.method !== 'POST') return res.writeHead(405).end();
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const session = req.headers['mcp-session-id'];
    if (message.method === 'initialize') {
      const id = `sess-${randomBytes(12).toString('hex')}`;
      if (issued++ % 2 === 0) doomed.add(id);
      sessions.add(id);
      known.add(id);
      res.setHeader('mcp-session-id', id);
    } else if (!sessions.has(session)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end(`unknown session ${leakOf(known)}`);
    } else if (message.method === 'tools/call' && doomed.delete(session)) {
      sessions.delete(session);
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end(`session ${leakOf(known)} expired`);
    }
    if (message.id === undefined) return res.writeHead(202).end();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': res.getHeader('mcp-session-id') ?? session });
    const send = (m) => res.write(`event: message\ndata: ${JSON.stringify(m)}\n\n`);
    send(await answer(message, known, async (n) => send(n)));
    res.end();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}/mcp`;
      resolve({ url, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

// Over stdio when run as a script.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const known = new Set([process.env.LEAKY_ENV, ...process.argv.slice(2).filter((a) => a.startsWith('--token=')).map((a) => a.slice(8))].filter(Boolean));
  const write = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
  process.stderr.write(`starting with ${leakOf(known)}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const message = JSON.parse(line);
    if (message.id === undefined) continue;
    write(await answer(message, known, async (n) => write(n)));
  }
}
