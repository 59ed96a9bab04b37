// The JS host when the application's own code misbehaves: handlers whose answers cannot be carried, listeners
// that throw, approval functions that never decide, signals shared by many calls. Each is that one thing's
// failure, never the agent's. An injected fetch plays a 2025-11-25 server; no network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMcp, createAgent } from 'mcp-loop';

const MCP_URL = 'http://10.20.30.40:9000/mcp';
const MODEL_URL = 'http://127.0.0.1:8787/v1';
const json = (body, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
/** `promise`'s value, or `late` if it has not settled after `ms` (the timer is cleared either way). */
async function within(promise, ms, late) {
  let timer;
  const wait = new Promise((resolve) => (timer = setTimeout(() => resolve(late), ms)));
  try {
    return await Promise.race([promise, wait]);
  } finally {
    clearTimeout(timer);
  }
}
const sse = (...messages) => new Response(messages.map((m) => `event: message\ndata: ${JSON.stringify(m)}\n\n`).join(''), { status: 200, headers: { 'content-type': 'text/event-stream' } });

/** A server whose tool `ask` asks the client a question (elicitation) and answers with what came back; `echo`
 * answers at once. A model (for agents) that calls `tool` once, then answers. */
function fakeFetch({ tool = 'echo' } = {}) {
  const answers = [];
  let asked = null; // the `ask` call waiting for the client's answer
  const fetch = async (url, init) => {
    if (url === `${MODEL_URL}/responses`) {
      const body = JSON.parse(init.body);
      const output = body.previous_response_id
        ? [{ type: 'message', id: 'm', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done', annotations: [] }] }]
        : [{ type: 'function_call', id: 'fc', call_id: 'c1', name: tool, arguments: '{}', status: 'completed' }];
      return json({ id: body.previous_response_id ? 'r2' : 'r1', object: 'response', status: 'completed', output });
    }
    if (init.method === 'DELETE') return new Response(null, { status: 200 });
    const rpc = JSON.parse(init.body);
    if (rpc.method === undefined) {
      // The client's answer to the question.
      answers.push(rpc);
      asked?.(rpc);
      return new Response(null, { status: 202 });
    }
    switch (rpc.method) {
      case 'initialize':
        return json({ jsonrpc: '2.0', id: rpc.id, result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'fake', version: '0' } } });
      case 'notifications/initialized':
        return new Response(null, { status: 202 });
      case 'tools/list':
        return json({ jsonrpc: '2.0', id: rpc.id, result: { tools: [{ name: 'echo', inputSchema: { type: 'object' } }, { name: 'ask', inputSchema: { type: 'object' } }] } });
      case 'tools/call': {
        const text = (t) => ({ jsonrpc: '2.0', id: rpc.id, result: { content: [{ type: 'text', text: t }] } });
        if (rpc.params.name !== 'ask') return sse(text('echoed'));
        const question = { jsonrpc: '2.0', id: 'q1', method: 'elicitation/create', params: { message: 'How many?', requestedSchema: { type: 'object', properties: { n: { type: 'number' } } } } };
        const encoder = new TextEncoder();
        const body = new ReadableStream({
          start(out) {
            out.enqueue(encoder.encode(`event: message\ndata: ${JSON.stringify(question)}\n\n`));
            asked = (answer) => {
              const said = answer.error ? `refused: ${answer.error.message}` : `answered ${JSON.stringify(answer.result)}`;
              out.enqueue(encoder.encode(`event: message\ndata: ${JSON.stringify(text(said))}\n\n`));
              out.close();
            };
          },
        });
        return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
      }
      default:
        throw new Error(`unexpected ${rpc.method}`);
    }
  };
  return { fetch, answers };
}

test('a handler answer that cannot be carried refuses that one question; the connection goes on', async () => {
  for (const bad of [{ action: 'accept', content: { n: 10n } }, { action: 'accept', content: { n: '\ud83d' } }]) {
    const { fetch } = fakeFetch();
    const mcp = await connectMcp({ url: MCP_URL, fetch, handlers: { elicitation: () => bad } });
    const result = await mcp.callTool('ask', {});
    assert.match(result.content[0].text, /^refused: the elicitation\/create handler's answer is not (valid )?JSON/);
    assert.equal((await mcp.callTool('echo', {})).content[0].text, 'echoed', 'still usable');
    await mcp.close();
  }
});

test('listeners that throw or reject are their own affair: the run completes, the process lives', async () => {
  const { fetch } = fakeFetch();
  const agent = createAgent({ model: 'm', portkey: { baseURL: MODEL_URL }, servers: { s: { url: MCP_URL } }, fetch });
  const seen = [];
  const sync = await agent.run('go', {
    onEvent: (e) => {
      seen.push(e.type);
      throw new Error('listener bug');
    },
  });
  assert.equal(sync.status, 'completed');
  assert.ok(seen.includes('toolCallFinished') && seen.includes('turnCompleted'), `every event still came: ${seen}`);
  const rejecting = await agent.run('go', { onEvent: async () => Promise.reject(new Error('async listener bug')) });
  assert.equal(rejecting.status, 'completed');
  const streamed = [];
  for await (const event of agent.stream('go', { onEvent: () => { throw new Error('stream listener bug'); } })) streamed.push(event.type);
  assert.ok(streamed.includes('toolCallStarted') && streamed.at(-1) === 'runCompleted', 'the iterator still gets every event');
  await agent.close();
});

test('close() ends a run whose approval function never decides: the pause is the result', async () => {
  const { fetch } = fakeFetch();
  let asking;
  const asked = new Promise((resolve) => (asking = resolve));
  const agent = createAgent({
    model: 'm',
    portkey: { baseURL: MODEL_URL },
    servers: { s: { url: MCP_URL } },
    approve: () => (asking(), new Promise(() => {})),
    fetch,
  });
  const run = agent.run('go');
  await asked;
  await agent.close();
  const result = await within(run, 2000, 'still pending');
  assert.equal(result?.status, 'awaiting_approval', 'the run settled with its pause');
  assert.equal(result.pending[0].tool, 'echo');
});

test('a signal shared by many calls keeps no listener per finished call', async () => {
  const { fetch } = fakeFetch();
  const mcp = await connectMcp({ url: MCP_URL, fetch });
  const shared = new AbortController();
  let listeners = 0;
  const add = shared.signal.addEventListener.bind(shared.signal);
  const remove = shared.signal.removeEventListener.bind(shared.signal);
  shared.signal.addEventListener = (...args) => (listeners++, add(...args));
  shared.signal.removeEventListener = (...args) => (listeners--, remove(...args));
  for (let i = 0; i < 20; i++) await mcp.callTool('echo', {}, { signal: shared.signal });
  assert.equal(listeners, 0);
  await mcp.close();
});

test('close() does not wait for a helper process that holds a stdio server\'s output open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-loop-'));
  const pidFile = join(dir, 'helper.pid');
  const script = new URL('../support/stdio-with-helper.mjs', import.meta.url).pathname;
  try {
    const mcp = await connectMcp({ command: process.execPath, args: [script, pidFile] });
    assert.deepEqual((await mcp.listTools()).map((t) => t.name), ['noop']);
    // The helper lives 60 s; a close that waited for the pipes to close would still be waiting at 15 s.
    const closed = await within(mcp.close().then(() => 'closed'), 15_000, 'still open');
    assert.equal(closed, 'closed');
  } finally {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
