// For hosts that bring their own clients: an official MCP SDK `Client` given as a server and a model function
// given to createAgent, and the tool loop driven alone (ToolLoop) with those clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectMcp, createAgent, ToolLoop } from 'mcp-loop';
import { startModelStandIn } from '../support/model-standin.mjs';
import { startCountingServer } from '../support/counting-server.mjs';
import { startAll } from '../support/procs.mjs';

let model, counting, client;

before(async () => {
  [model, counting] = await startAll([startModelStandIn(), startCountingServer({ delayMs: 100 })]);
  client = new Client({ name: 'host-app', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(counting.url)));
});

after(async () => {
  await client?.close();
  await Promise.all([model?.close(), counting?.close()]);
});

/** A model function as an application would write one around its own SDK; here plain fetch to the stand-in. */
const seen = [];
async function callModel(request, { headers }) {
  seen.push({ request, headers });
  const response = await fetch(`${model.url}/responses`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer standin' }, body: JSON.stringify(request) });
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error?.message), { status: response.status });
  return body;
}

test('createAgent with an MCP SDK Client as a server and a model function: the whole loop, approvals included', async () => {
  const agent = createAgent({ model: 'gpt-standin', callModel, servers: { counting: { client, approve: 'destructive' } } });
  counting.reset();
  const result = await agent.run('Do two rounds of slow lookups.', { traceId: 'host-clients' });
  assert.equal(result.status, 'completed');
  assert.deepEqual(result.toolCalls.map((c) => c.output), ['r1a', 'r1b', 'r1c', 'r2a', 'r2b', 'r2c'].map((l) => `looked up ${l}`));
  assert.equal(counting.calls().length, 6);
  assert.equal(seen.at(-1).headers['x-portkey-trace-id'], 'host-clients', 'the function gets the trace headers');

  const paused = await agent.run('Do one round of slow writes.');
  assert.equal(paused.status, 'awaiting_approval');
  const done = await agent.resume(paused.snapshot, Object.fromEntries(paused.pending.map((p) => [p.callId, true])));
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.toolCalls.map((c) => c.output), ['wrote r1a', 'wrote r1b', 'wrote r1c']);
  await agent.close();
});

test('cancelling a run cancels the call through the application’s own client', async () => {
  const agent = createAgent({ model: 'gpt-standin', callModel, servers: { counting: client } });
  counting.reset();
  const stop = new AbortController();
  const result = await agent.run('Wait forever, please.', { signal: stop.signal, onEvent: (e) => e.type === 'toolCallStarted' && setTimeout(() => stop.abort('stop'), 50) });
  assert.equal(result.status, 'cancelled');
  await counting.firstCancelled();
  assert.equal(counting.calls()[0]?.cancelled, true, 'the SDK client told the server');
  await agent.close();
});

test('the tool loop alone, driven by the host with its own clients, snapshotted and restored midway', async () => {
  const { tools } = await client.listTools();
  const options = { model: 'gpt-standin' };
  let loop = ToolLoop.start(options, { counting: tools }, 'Do two rounds of slow lookups.');
  const running = new Map();
  let result;
  let restored = false;
  while (!result) {
    const out = loop.next();
    switch (out.type) {
      case 'callModel':
        running.set(out.id, callModel(out.request, { headers: {} }).then((r) => ['model', r]));
        break;
      case 'callTool':
        running.set(out.id, client.callTool({ name: out.tool, arguments: out.arguments }).then((r) => ['tool', r]));
        break;
      case 'done':
        result = out.result;
        break;
      case 'wait': {
        // Whatever finishes first is fed back; halfway through, the loop moves to a "new process".
        const [id, [kind, value]] = await Promise.race([...running].map(([id, p]) => p.then((v) => [id, v])));
        running.delete(id);
        // Response headers as an HTTP client has them: only Portkey's are kept, for the turn's details.
        if (kind === 'model') loop.modelResponse(id, value, { headers: { 'X-Portkey-Cache-Status': 'MISS', 'set-cookie': 'session=1' } });
        else loop.toolResult(id, value);
        if (!restored && kind === 'tool') {
          restored = true;
          const snapshot = JSON.parse(JSON.stringify(loop.snapshot()));
          loop = ToolLoop.restore(options, { counting: tools }, snapshot);
          running.clear(); // a new process knows nothing of the old one's calls: the loop asks again for those in flight
        }
      }
    }
  }
  assert.equal(result.status, 'completed');
  assert.equal(result.toolCalls.length, 6);
  assert.match(result.outputText, /looked up r2c/);
  assert.deepEqual(result.turnDetails.at(-1).headers, { 'x-portkey-cache-status': 'MISS' });
  assert.throws(() => ToolLoop.start({ model: 'm', maxTurns: 0 }, {}, 'x'), (e) => e.code === 'config');
  assert.throws(() => loop.modelResponse(999, {}), (e) => e.code === 'host');
});

test('a model function may answer a streamed request with the stream events, as SDKs return them', async () => {
  // What `portkey.responses.create({ ...request, stream: true })` gives: an async iterable of the stream's events.
  async function* events(response) {
    yield { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [] } };
    const text = response.output.find((i) => i.type === 'message')?.content[0].text;
    if (text) yield { type: 'response.output_text.delta', sequence_number: 1, delta: text };
    yield { type: 'response.completed', sequence_number: 2, response };
  }
  const streaming = async (request, context) => (request.stream ? events(await callModel({ ...request, stream: false }, context)) : callModel(request, context));
  const agent = createAgent({ model: 'gpt-standin', callModel: streaming, servers: { counting: client } });
  const seen = [];
  for await (const event of agent.stream('Do one round of slow lookups.')) seen.push(event);
  const done = seen.at(-1);
  assert.equal(done.type, 'runCompleted');
  assert.equal(done.result.status, 'completed');
  assert.equal(seen.filter((e) => e.type === 'textDelta').map((e) => e.delta).join(''), done.result.outputText);
  await agent.close();
});

test('what a client throws reaches the model only as the server’s own JSON-RPC error, never as its text', async () => {
  const leaky = {
    listTools: () => client.listTools(),
    callTool: async () => {
      throw new Error('Error POSTing to endpoint https://secret.internal/mcp: {"token":"s3cr3t"}');
    },
  };
  const agent = createAgent({ model: 'gpt-standin', callModel, servers: { counting: leaky } });
  const result = await agent.run('Do one round of slow lookups.');
  assert.ok(result.toolCalls.every((c) => c.isError && /the MCP client failed \(Error\)/.test(c.output)), JSON.stringify(result.toolCalls[0]));
  assert.ok(!JSON.stringify(seen.slice(-2)).includes('secret.internal'), 'nothing of it went to the model');
  await agent.close();
});

test('a connectMcp connection can serve as an agent’s server', async () => {
  const connection = await connectMcp({ url: counting.url });
  const agent = createAgent({ model: 'gpt-standin', callModel, servers: { counting: connection } });
  const result = await agent.run('Do one round of slow lookups.');
  assert.deepEqual(result.toolCalls.map((c) => c.output), ['looked up r1a', 'looked up r1b', 'looked up r1c']);
  await agent.close();
  await connection.close();
  assert.throws(() => ToolLoop.start({ model: 'm', approve: () => true }, {}, 'x'), (e) => e.code === 'config');
});

test('allowTools and denyTools also hold for tools listed directly', async () => {
  const connection = await connectMcp({ url: counting.url, allowTools: ['slow-*'], denyTools: ['slow-write'] });
  assert.deepEqual((await connection.listTools()).map((t) => t.name), ['slow-lookup']);
  await connection.close();
});
