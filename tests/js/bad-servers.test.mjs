// Bad input from a server is normal input: invalid JSON, a stream that never answers, a response over the
// size cap, an answer to nobody. Each gets a clear error, and the client stays usable. A server that never
// answers at all fails a run after its timeout; one that fails while warming up is waited for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connectMcp, createAgent } from 'mcp-loop';
import { startFaultyServer } from '../support/faulty-server.mjs';
import { startCountingServer } from '../support/counting-server.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';

let server;
let mcp;
let token = 0;
// A rotating credential: asked for before every request.
const rotating = async () => ({ authorization: `Bearer rotating-${++token}` });
const events = [];

before(async () => {
  server = await startFaultyServer();
  mcp = await connectMcp({
    url: server.url,
    protocol: '2025-11-25',
    timeoutMs: 2000,
    headers: rotating,
    onEvent: (e) => events.push(e),
  });
});

after(async () => {
  await mcp?.close();
  await server?.close();
});

const echoes = async (client) => assert.deepEqual((await client.callTool('echo', { ok: 1 })).content, [{ type: 'text', text: 'echo {"ok":1}' }]);
const stillWorks = () => echoes(mcp);

test('a body that is not JSON', async () => {
  await assert.rejects(mcp.callTool('invalid-json'), (e) => e.code === 'mcp' && /did not answer|malformed/.test(e.message));
  assert.ok(events.some((e) => e.type === 'warning' && /malformed message/.test(e.message)));
  await stillWorks();
});

test('a stream that never answers times out, is closed, and the server is told', async () => {
  await assert.rejects(mcp.callTool('endless'), (e) => {
    const waited = Number(e.message.match(/timed out after (\d+) ms/)?.[1]);
    return e.code === 'mcp' && waited >= 2000 && waited < 4000;
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.openStreams(), 0, 'the endless stream was aborted');
  const cancelled = server.requests.filter((r) => r.body.method === 'notifications/cancelled');
  assert.equal(cancelled.length, 1);
  assert.match(cancelled[0].body.params.reason, /timed out/);
  await stillWorks();
});

test('a response over the size cap', async () => {
  // Its own connection with the default timeout: pushing 32 MiB through can take longer than the 2 s above on a
  // busy machine, and this test is about the cap, not the clock.
  const big = await connectMcp({ url: server.url, protocol: '2025-11-25', headers: rotating });
  try {
    await assert.rejects(big.callTool('huge'), (e) => e.code === 'mcp' && /exceeded 33554432 bytes/.test(e.message));
    await echoes(big);
  } finally {
    await big.close();
  }
});

test("a credential from the headers() hook that a server repeats in an error is redacted", async () => {
  await assert.rejects(mcp.callTool('echo-auth'), (e) => {
    assert.match(e.message, /token rejected: \[redacted\]/);
    assert.doesNotMatch(e.message, /rotating-/);
    return true;
  });
  await stillWorks();
});

test('an answer to a request nobody made', async () => {
  await assert.rejects(mcp.callTool('wrong-id'), (e) => /did not answer/.test(e.message));
  assert.ok(events.some((e) => e.type === 'warning' && /unknown id 999999/.test(e.message)));
  await stillWorks();
});

test('the application cancels a call: the server is told', async () => {
  const controller = new AbortController();
  const call = mcp.callTool('endless', {}, { signal: controller.signal });
  setTimeout(() => controller.abort('user pressed stop'), 100);
  await assert.rejects(call, (e) => e.code === 'mcp' && /cancelled: user pressed stop/.test(e.message));
  // The notification is on its way as the call rejects; give it a moment to arrive.
  const told = () => server.requests.some((r) => r.body.method === 'notifications/cancelled' && r.body.params.reason === 'user pressed stop');
  for (let i = 0; i < 50 && !told(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(told(), 'the server got notifications/cancelled with the reason');
  await stillWorks();
});

test('log messages reach the application as events', async () => {
  await mcp.callTool('log');
  assert.ok(events.some((e) => e.type === 'serverLog' && e.level === 'warning' && e.logger === 'db' && e.data.slow === true));
});

test('the headers() hook runs before every request', () => {
  const tokens = server.requests.map((r) => r.headers.authorization);
  assert.ok(tokens.every((t) => /^Bearer rotating-\d+$/.test(t)), tokens.join(', '));
  assert.equal(new Set(tokens).size, tokens.length, 'a fresh credential each time');
});

/** An HTTP server on loopback; `close()` also ends the requests it holds. */
function serve(handler) {
  const open = new Set();
  const server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    handler(req, res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/mcp`,
        close: () => {
          for (const res of open) res.destroy();
          return new Promise((r) => server.close(r));
        },
      }),
    ),
  );
}

test('a server that never answers fails the run after its timeout, not twice that, and the message says so', async () => {
  const silent = await serve(() => {});
  const model = await startModelStandIn();
  const agent = createAgent({ model: 'gpt-standin', portkey: { baseURL: model.url, authorization: 'Bearer standin' }, servers: { mute: { url: silent.url, timeoutMs: 1500 } } });
  try {
    const started = Date.now();
    const error = await agent.run('hello').then(() => null, (e) => e);
    const took = Date.now() - started;
    assert.equal(error?.code, 'mcp', String(error));
    // About one timeout, not two (probe and handshake share it); a timer may fire a millisecond or so early.
    const stated = Number(error.message.match(/timed out after (\d+) ms/)?.[1]);
    assert.ok(stated >= 1400 && stated < 3000, `the message tells the wait: ${error.message}`);
    assert.ok(took >= 1400 && took < 3000, `the run failed after about one timeout (probe and handshake together): ${took} ms`);
  } finally {
    await agent.close();
    await Promise.all([silent.close(), model.close()]);
  }
});

test('a server that refuses initialize twice with 503 while warming up is waited for, and the run completes', async () => {
  const real = await startCountingServer({ delayMs: 10 });
  let refused = 0;
  // In front of the real server: the first two initialize requests get 503, everything else goes through.
  const flaky = await serve(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    if (req.method === 'POST' && JSON.parse(body.toString() || '{}').method === 'initialize' && refused < 2) {
      refused += 1;
      return res.writeHead(503, { 'content-type': 'text/plain' }).end('warming up');
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)));
    const answer = await fetch(real.url, { method: req.method, headers, body: req.method === 'POST' ? body : undefined });
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    if (answer.body) for await (const chunk of answer.body) res.write(chunk);
    res.end();
  });
  const model = await startModelStandIn();
  const events = [];
  const agent = createAgent({ model: 'gpt-standin', portkey: { baseURL: model.url, authorization: 'Bearer standin' }, servers: { counting: { url: flaky.url, transport: 'streamable-http' } } });
  try {
    const result = await agent.run('Do one round of slow lookups.', { onEvent: (e) => events.push(e) });
    assert.equal(result.status, 'completed');
    assert.equal(refused, 2);
    assert.deepEqual(result.toolCalls.map((c) => c.isError), [false, false, false]);
    const retries = events.filter((e) => e.type === 'warning' && /HTTP 503.*trying again/.test(e.message));
    assert.equal(retries.length, 2, JSON.stringify(events.filter((e) => e.type === 'warning')));
  } finally {
    await agent.close();
    await Promise.all([flaky.close(), model.close(), real.close()]);
  }
});

test('tools too deep, looping or with a 5 MB description: the others are served, and each bad one is noted', async () => {
  let deep = { type: 'string' };
  for (let i = 0; i < 70; i++) deep = { type: 'object', properties: { x: deep } };
  const tools = [
    { name: 'get-sum', inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } },
    { name: 'deep', inputSchema: deep },
    { name: 'looping', inputSchema: { type: 'object', properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } } } },
    { name: 'wordy', description: 'w'.repeat(5 << 20), inputSchema: { type: 'object' } },
  ];
  // A handshake-era server, hand-written: no SDK sends such tools on purpose.
  const hostile = await serve(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const message = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    if (req.method !== 'POST') return res.writeHead(405).end();
    if (message.id === undefined) return res.writeHead(202).end();
    const answer = {
      initialize: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'hostile', version: '1' } },
      'tools/list': { tools },
      'tools/call': { content: [{ type: 'text', text: `The sum is ${message.params?.arguments?.a + message.params?.arguments?.b}.` }] },
    }[message.method];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer ? { jsonrpc: '2.0', id: message.id, result: answer } : { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'no' } }));
  });
  const model = await startModelStandIn();
  const events = [];
  const agent = createAgent({
    model: 'gpt-standin',
    portkey: { baseURL: model.url, authorization: 'Bearer standin' },
    servers: { hostile: { url: hostile.url, protocol: '2025-11-25' } },
  });
  try {
    const result = await agent.run('What is 2 + 3?', { onEvent: (e) => events.push(e) });
    assert.equal(result.status, 'completed');
    assert.match(result.outputText, /The sum is 5\./);
    const listed = events.find((e) => e.type === 'toolsListed');
    assert.equal(listed.count, 2, 'get-sum and the wordy one (its description cut)');
    const noted = (name, why) => assert.ok(listed.notes.some((n) => n.startsWith(`${name}: `) && why.test(n)), `${name}: ${listed.notes.join(' | ')}`);
    noted('deep', /skipped: its input schema nests deeper than 64 levels/);
    noted('looping', /skipped: .*\$ref '#\/\$defs\/a' loops/);
    noted('wordy', /description cut to 1024 of its 5242880 characters/);
    const sent = JSON.parse(model.requests[0].body).tools.map((t) => t.name);
    assert.deepEqual(sent.sort(), ['get-sum', 'wordy']);
  } finally {
    await agent.close();
    await Promise.all([hostile.close(), model.close()]);
  }
});
