// The JS host (js/core.js over the wasm core) with an injected fetch: no network, every byte scripted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createAgent, toFunctionTools, McpLoopError } from 'mcp-loop';
import { optionKeys } from '../../pkg/mcp_loop.js';

const MCP_URL = 'http://10.20.30.40:9000/mcp';
const MODEL_URL = 'http://127.0.0.1:8787/v1';

function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** A scripted MCP server and model behind one fetch. `hang(name)` makes a tool call never answer. */
function fakeFetch({ model, tools = [{ name: 'echo' }], call, hang = () => false } = {}) {
  const seen = [];
  const fetch = async (url, init) => {
    const request = { url, method: init.method, headers: Object.fromEntries(init.headers), body: init.body };
    seen.push(request);
    if (url === `${MODEL_URL}/responses`) return model(JSON.parse(init.body), request);
    if (init.method === 'DELETE') return new Response(null, { status: 200 });
    const rpc = JSON.parse(init.body);
    switch (rpc.method) {
      case 'initialize':
        return json(
          { jsonrpc: '2.0', id: rpc.id, result: { protocolVersion: '2025-03-26', capabilities: { tools: {} }, serverInfo: { name: 'fake', version: '0' } } },
          200,
          { 'mcp-session-id': 'session-secret-1' },
        );
      case 'notifications/initialized':
        return new Response(null, { status: 202 });
      case 'tools/list':
        return json({ jsonrpc: '2.0', id: rpc.id, result: { tools } });
      case 'tools/call': {
        if (hang(rpc.params.name)) {
          return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
        }
        // Stream the answer as SSE in small pieces, the way server-everything does.
        const result = call ? call(rpc.params) : { content: [{ type: 'text', text: `${rpc.params.name}: ${JSON.stringify(rpc.params.arguments)}` }] };
        const text = `id: 1\ndata: \n\nevent: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result })}\n\n`;
        const bytes = new TextEncoder().encode(text);
        const body = new ReadableStream({
          start(controller) {
            for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7));
            controller.close();
          },
        });
        return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
      }
      default:
        throw new Error(`unexpected ${rpc.method}`);
    }
  };
  return { fetch, seen };
}

const response = (id, output) => json({ id, object: 'response', status: 'completed', output, usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 } });
const call = (callId, name, args) => ({ type: 'function_call', id: `fc_${callId}`, call_id: callId, name, arguments: JSON.stringify(args), status: 'completed' });
const message = (text) => ({ type: 'message', id: 'msg', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] });

function agentWith(fetch, extra = {}) {
  return createAgent({
    model: 'gpt-test',
    portkey: { baseURL: MODEL_URL, provider: 'openai', apiKey: 'pk-test' },
    servers: { intranet: { url: MCP_URL, headers: { authorization: 'Bearer tok-secret' } } },
    fetch,
    ...extra,
  });
}

test('a run: tools listed, calls made together, outputs returned, answer resolved', async () => {
  const { fetch, seen } = fakeFetch({
    model: (body) =>
      body.previous_response_id
        ? response('resp_2', [message(body.input.map((o) => o.output).join(' | '))])
        : response('resp_1', [call('c1', 'echo', { a: 1 }), call('c2', 'echo', { b: 2 })]),
  });
  const agent = agentWith(fetch);
  const events = [];
  const result = await agent.run('go', { traceId: 'trace-1', onEvent: (e) => events.push(e.type) });
  assert.equal(result.status, 'completed');
  assert.equal(result.outputText, 'echo: {"a":1} | echo: {"b":2}');
  assert.equal(result.turns, 2);
  assert.equal(result.traceId, 'trace-1');
  assert.deepEqual(result.usage, { inputTokens: 2, outputTokens: 2, totalTokens: 4, cachedTokens: 0, reasoningTokens: 0 });
  assert.deepEqual(
    result.toolCalls.map((c) => [c.callId, c.server, c.tool, c.isError]),
    [
      ['c1', 'intranet', 'echo', false],
      ['c2', 'intranet', 'echo', false],
    ],
  );
  assert.deepEqual(events.slice(0, 5), ['runStarted', 'serverConnected', 'toolsListed', 'turnStarted', 'turnCompleted']);
  const model = seen.filter((r) => r.url.endsWith('/responses'));
  assert.equal(model[0].headers['x-portkey-trace-id'], 'trace-1');
  assert.equal(model[0].headers['x-portkey-api-key'], 'pk-test');
  const first = JSON.parse(model[0].body);
  assert.deepEqual(first.tools, [
    { type: 'function', name: 'echo', description: '', parameters: { type: 'object', properties: {}, required: [], additionalProperties: false }, strict: true },
  ]);
  for (const r of model) {
    const all = JSON.stringify(r);
    for (const secret of ['10.20.30.40', 'tok-secret', 'session-secret-1']) assert.ok(!all.includes(secret), `${secret} leaked: ${all}`);
  }
  const calls = seen.filter((r) => r.body?.includes('tools/call'));
  assert.ok(calls.every((r) => r.headers['mcp-session-id'] === 'session-secret-1' && r.headers['mcp-protocol-version'] === '2025-03-26'));
  await agent.close();
  assert.equal(seen.at(-1).method, 'DELETE', 'close ends the session');
});

test('every run gets its own trace id unless one is given', async () => {
  const { fetch, seen } = fakeFetch({ model: () => response('r', [message('hi')]) });
  const agent = agentWith(fetch);
  const [a, b] = await Promise.all([agent.run('one'), agent.run('two')]);
  assert.match(a.traceId, /^mcp-loop-[0-9a-f]{32}$/);
  assert.notEqual(a.traceId, b.traceId);
  assert.equal(seen.filter((r) => r.body?.includes('tools/list')).length, 1, 'concurrent runs share one listing');
  await agent.close();
});

test('a tool call that hangs times out, is aborted, and the model is told', async () => {
  const aborted = [];
  const { fetch } = fakeFetch({
    hang: (name) => name === 'slow',
    tools: [{ name: 'slow' }, { name: 'echo' }],
    model: (body) =>
      body.previous_response_id
        ? response('resp_2', [message(body.input.map((o) => o.output).join(' | '))])
        : response('resp_1', [call('c1', 'slow', {}), call('c2', 'echo', {})]),
  });
  const watched = (url, init) => {
    init.signal?.addEventListener('abort', () => aborted.push(JSON.parse(init.body).params?.name));
    return fetch(url, init);
  };
  const agent = createAgent({
    model: 'gpt-test',
    portkey: { baseURL: MODEL_URL },
    servers: { intranet: { url: MCP_URL, timeoutMs: 1000 } },
    fetch: watched,
  });
  const result = await agent.run('go');
  const [, waited] = result.outputText.match(/^Error: MCP server 'intranet': request failed: timed out after (\d+) ms \| echo: \{\}$/);
  assert.ok(waited >= 1000 && waited < 2000, `the message tells the real wait: ${waited} ms`);
  assert.ok(aborted.includes('slow'), `the timed-out request was aborted (${aborted})`);
  await agent.close();
});

test('network failures and provider errors', async () => {
  const { fetch } = fakeFetch({
    model: () => json({ error: { message: 'openai error: Rate limit reached', type: 'requests' } }, 429),
  });
  const agent = agentWith(fetch);
  await assert.rejects(agent.run('go'), (error) => {
    assert.ok(error instanceof McpLoopError);
    assert.equal(error.code, 'model');
    assert.equal(error.status, 429);
    assert.equal(error.message, `model request failed (HTTP 429): openai error: Rate limit reached (endpoint ${new URL(MODEL_URL).origin})`);
    return true;
  });
  await agent.close();

  const refused = async (url) => {
    throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED', message: `connect ECONNREFUSED ${url}` } });
  };
  // A refused connection may heal (a server still starting): tried again while the server's timeout lasts.
  const offline = agentWith(refused, { servers: { intranet: { url: MCP_URL, timeoutMs: 1500 } } });
  const warnings = [];
  await assert.rejects(offline.run('go', { onEvent: (e) => e.type === 'warning' && warnings.push(e.message) }), (error) => {
    assert.equal(error.code, 'mcp');
    assert.equal(error.server, 'intranet');
    assert.match(error.message, /^MCP server 'intranet': listing tools failed: could not connect: request failed: TypeError: fetch failed \(ECONNREFUSED\) \((\d+) attempts failed in \d+ ms\)$/);
    assert.equal(Number(error.message.match(/(\d+) attempts/)[1]), warnings.length + 1, warnings.join(' | '));
    return true;
  });
  assert.ok(warnings.every((w) => /^could not connect \(.*\(ECONNREFUSED\)\); trying again in \d+ ms$/.test(w)), warnings.join(' | '));
  await offline.close();
});

test('configuration mistakes are errors with code "config"', () => {
  const bad = [
    [{ model: 'm', maxTurn: 3 }, /unknown option maxTurn/],
    [{ model: 'm', servers: { a: { url: 'ftp://x' } } }, /url must start with http/],
    [{ model: 'm', servers: { a: { url: 'http://x', headers: { 'mcp-session-id': 'x' } } } }, /set by the protocol/],
    [{ model: '' }, /model is required/],
    [{ model: 'm', portkey: { provider: 'a', virtualKey: 'b' } }, /not both/],
    [{ model: 'm', modelSettings: { input: 'x' } }, /cannot set 'input'/],
  ];
  for (const [options, pattern] of bad) {
    assert.throws(
      () => createAgent({ fetch: () => {}, ...options }),
      (error) => error instanceof McpLoopError && error.code === 'config' && pattern.test(error.message),
      JSON.stringify(options),
    );
  }
});

test("one list of option keys: the core's, each accepted by createAgent and typed in index.d.ts", () => {
  const keys = JSON.parse(optionKeys());
  const types = readFileSync(new URL('../../js/index.d.ts', import.meta.url), 'utf8');
  // Set by the host from what the application gives: the name is the key in `servers`, the rest follow from
  // functions and handlers.
  const setByHost = ['name', 'capabilities', 'headersHook'];
  for (const key of [...keys.agent, ...keys.portkey, ...keys.server.filter((k) => !setByHost.includes(k))]) {
    assert.match(types, new RegExp(`\\b${key}\\??:`), `${key} is typed in index.d.ts`);
  }
  const agent = Object.fromEntries(keys.agent.filter((k) => !['model', 'servers', 'portkey'].includes(k)).map((k) => [k, undefined]));
  const server = Object.fromEntries(keys.server.filter((k) => !setByHost.includes(k)).map((k) => [k, undefined]));
  const portkey = Object.fromEntries(keys.portkey.map((k) => [k, undefined]));
  const every = createAgent({ model: 'm', fetch: () => {}, ...agent, portkey, servers: { s: { ...server, url: MCP_URL } } });
  assert.ok(every, 'every key the core lists is accepted');
  for (const [options, where] of [
    [{ model: 'm', servers: { s: { url: MCP_URL, headersHook: true } } }, 'servers.s.headersHook'],
    [{ model: 'm', servers: { s: { url: MCP_URL, capabilities: {} } } }, 'servers.s.capabilities'],
  ]) {
    assert.throws(() => createAgent({ fetch: () => {}, ...options }), (e) => e.code === 'config' && e.message.includes(`unknown option ${where}`));
  }
});

test('bad input is refused before anything is sent', async () => {
  const { fetch, seen } = fakeFetch({ model: () => response('r', [message('hi')]) });
  const agent = agentWith(fetch);
  await assert.rejects(agent.run(''), (e) => e.code === 'config');
  await assert.rejects(agent.run({ text: 'x' }), (e) => e.code === 'config');
  assert.equal(seen.length, 0);
  await agent.close();
  await assert.rejects(agent.run('after close'), (e) => e.code === 'cancelled');
});

test('close ends a run in flight', async () => {
  const { fetch } = fakeFetch({ hang: () => true, model: () => response('r', [call('c1', 'echo', {})]) });
  const agent = agentWith(fetch);
  const run = agent.run('go');
  await new Promise((r) => setTimeout(r, 50));
  await agent.close();
  await assert.rejects(run, (e) => e.code === 'cancelled' && /closed/.test(e.message));
});

test('toFunctionTools converts a tools/list result and resolves names back', () => {
  const list = {
    tools: [{ name: 'search.tickets', description: 'Find tickets', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } }, { name: 7 }],
  };
  const { tools, resolve, notes } = toFunctionTools(list, { server: 'it' });
  assert.deepEqual(tools, [
    {
      type: 'function',
      name: 'search_tickets',
      description: 'Find tickets',
      // Strict by default; the optional q stays optional: nullable, and a null is removed before the call.
      parameters: { type: 'object', properties: { q: { type: ['string', 'null'] } }, required: ['q'], additionalProperties: false },
      strict: true,
    },
  ]);
  assert.deepEqual(resolve('search_tickets'), { server: 'it', tool: 'search.tickets' });
  assert.equal(resolve('nope'), null);
  assert.equal(notes.length, 1);
  const plain = toFunctionTools(list, { server: 'it', strict: false, toolPrefix: 'always', maxDescriptionChars: 4 });
  assert.deepEqual(plain.tools[0], {
    type: 'function',
    name: 'it__search_tickets',
    description: 'Find',
    parameters: { type: 'object', properties: { q: { type: 'string' } } },
    strict: false,
  });
  assert.throws(() => toFunctionTools([], { strict: 'sometimes' }), (e) => e.code === 'config' && /strict must be/.test(e.message));
  assert.throws(() => toFunctionTools([], { prefix: 'always' }), (e) => e.code === 'config' && /unknown option/.test(e.message));
  assert.throws(() => toFunctionTools([], { toolPrefix: 'sometimes' }), (e) => e.code === 'config');
});
