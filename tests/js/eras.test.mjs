// The protocol era a server answered with is remembered per origin and path, for the life of the process: a
// server that answered the handshake is not probed (`server/discover`) on later connections, by `connectMcp`
// or an agent; a connection that fails forgets it. The counting server (the MCP TypeScript SDK, handshake only)
// sits behind a proxy that records the method of every JSON-RPC request and can refuse everything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { connectMcp } from 'mcp-loop';
import { startCountingServer } from '../support/counting-server.mjs';

let counting, proxy, url;
const methods = [];
let refusing = false;

before(async () => {
  counting = await startCountingServer({ delayMs: 0 });
  const target = new URL(counting.url);
  proxy = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST') methods.push(JSON.parse(body).method ?? 'response');
      if (refusing) return res.writeHead(404).end();
      const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  // A query the memory ignores: the same endpoint.
  url = `http://127.0.0.1:${proxy.address().port}${target.pathname}?tenant=`;
});

after(async () => {
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await counting?.close();
});

/** The methods of one connection's requests, from connect to close. */
async function connection(query, options = {}) {
  methods.length = 0;
  const mcp = await connectMcp({ url: url + query, ...options });
  await mcp.close();
  return [...methods];
}

test('a server that answered the handshake is not probed again; a failed connection forgets that', async () => {
  const first = await connection('a');
  assert.equal(first[0], 'server/discover', 'the first connection probes');
  assert.ok(first.includes('initialize'), first.join());

  const second = await connection('b');
  assert.equal(second[0], 'initialize', `no probe the second time: ${second.join()}`);

  // A fixed era is the application's: it is neither replaced nor probed.
  const fixed = await connection('c', { protocol: '2025-06-18' });
  assert.equal(fixed[0], 'initialize');

  refusing = true;
  await assert.rejects(connection('d', { timeoutMs: 2000 }), (error) => error.code === 'mcp');
  refusing = false;
  const after = await connection('e');
  assert.equal(after[0], 'server/discover', `probed again after a failure: ${after.join()}`);
});
