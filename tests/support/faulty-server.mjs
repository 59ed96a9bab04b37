// An MCP server that misbehaves on request, for the bad-input tests. Handshake era over Streamable HTTP, no
// session. `tools/call` by name:
//   echo         a normal answer (the client must still work after each fault)
//   invalid-json a JSON body that is not JSON
//   endless      an SSE stream that never answers (keep-alive comments forever)
//   huge         a response over the client's 32 MiB message cap
//   wrong-id     an answer to a request nobody made
//   log          a log message (notifications/message) on the stream, then the answer
//   echo-auth    an HTTP 500 whose body repeats the request's Authorization header (a credential in an error)
// It records every request's headers and body in `requests` (also served at GET /__requests).
import { createServer } from 'node:http';

export function startFaultyServer() {
  const requests = [];
  const open = new Set();
  const server = createServer(async (req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    if (req.method === 'GET' && req.url === '/__requests') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(requests));
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    requests.push({ headers: req.headers, body });
    const json = (value) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const result = (value) => json({ jsonrpc: '2.0', id: body.id, result: value });
    if (body.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    switch (body.method) {
      case 'initialize':
        return result({ protocolVersion: '2025-11-25', capabilities: { tools: {}, logging: {} }, serverInfo: { name: 'faulty', version: '1' } });
      case 'tools/list':
        return result({ tools: ['echo', 'invalid-json', 'endless', 'huge', 'wrong-id', 'log', 'echo-auth'].map((name) => ({ name, inputSchema: { type: 'object' } })) });
      case 'tools/call':
        break;
      default:
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32601, message: 'Method not found' } }));
        return;
    }
    switch (body.params.name) {
      case 'invalid-json':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"jsonrpc":"2.0","id":');
      case 'endless': {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const beat = setInterval(() => res.write(': keep-alive\n\n'), 50);
        res.on('close', () => clearInterval(beat));
        return;
      }
      case 'huge':
        return result({ content: [{ type: 'text', text: 'x'.repeat(33 << 20) }] });
      case 'wrong-id':
        return json({ jsonrpc: '2.0', id: 999999, result: { content: [] } });
      case 'echo-auth':
        res.writeHead(500, { 'content-type': 'text/plain' });
        return res.end(`token rejected: ${req.headers.authorization}`);
      case 'log': {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const log = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'warning', logger: 'db', data: { slow: true } } };
        res.write(`data: ${JSON.stringify(log)}\n\n`);
        return res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id: body.id, result: { content: [{ type: 'text', text: 'logged' }] } })}\n\n`);
      }
      default:
        return result({ content: [{ type: 'text', text: `echo ${JSON.stringify(body.params.arguments)}` }] });
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/mcp`,
        requests,
        openStreams: () => open.size,
        close: () => {
          for (const res of open) res.destroy();
          return new Promise((r) => server.close(r));
        },
      }),
    ),
  );
}
