// Bad input from a server is normal input: invalid JSON, a stream that never answers, a response over the
// size cap, an answer to nobody. Each gets a clear error, and the client stays usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectMcp } from 'mcp-loop';
import { startFaultyServer } from '../support/faulty-server.mjs';

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
  await assert.rejects(mcp.callTool('endless'), (e) => e.code === 'mcp' && /timed out after 2000 ms/.test(e.message));
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
