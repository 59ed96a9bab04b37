// End to end in Node: the package as published, against the official server-everything (Streamable HTTP), the
// demo's intranet server (official SDK), and the model stand-in behind the real open-source Portkey gateway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createAgent } from 'mcp-loop';
import { root, startAll, startEverything, startGateway } from '../support/procs.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { startIntranetServer } from '../../examples/intranet-server.mjs';

let everything;
let gateway;
let model;

before(async () => {
  [everything, gateway, model] = await startAll([startEverything('streamableHttp'), startGateway(), startModelStandIn()]);
});

after(async () => {
  await Promise.all([everything?.stop(), gateway?.stop(), model?.close()]);
});

const portkey = (extra = {}) => ({ baseURL: gateway.url, provider: 'openai', customHost: model.url, authorization: 'Bearer standin', ...extra });

test('server-everything: get-sum and echo in one turn, both results in the answer', async () => {
  const agent = createAgent({ model: 'gpt-standin', portkey: portkey(), servers: { everything: { url: everything.url } } });
  const result = await agent.run('What is 2 + 3? Also echo "hello from the intranet".');
  assert.equal(result.status, 'completed');
  assert.equal(result.turns, 2);
  assert.deepEqual(
    result.toolCalls.map((c) => [c.tool, c.turn, c.isError]),
    [
      ['get-sum', 1, false],
      ['echo', 1, false],
    ],
  );
  assert.match(result.outputText, /The sum of 2 and 3 is 5\./);
  assert.match(result.outputText, /Echo: hello from the intranet/);
  await agent.close();
});

test('strict tools: the model sends null for an optional argument, the server never sees it; an image reaches the model as an image', async () => {
  const agent = createAgent({ model: 'gpt-standin', portkey: portkey(), servers: { everything: { url: everything.url } } });
  const seen = model.requests.length;
  const listed = [];
  const result = await agent.run('Show me the tiny image and the resource links.', { onEvent: (e) => e.type === 'toolsListed' && listed.push(e) });
  assert.equal(result.status, 'completed');
  assert.ok(listed[0].strict >= 10, `most of server-everything's tools are strict: ${JSON.stringify(listed[0])}`);
  const sent = model.requests.slice(seen).map((r) => JSON.parse(r.body));
  const links = sent[0].tools.find((t) => t.name === 'get-resource-links');
  assert.equal(links.strict, true);
  assert.deepEqual(links.parameters.required, ['count']);
  // The stand-in, like a strict model, answered with {"count": null}; server-everything (zod) refuses a null count,
  // so a successful call with its default of 3 links shows the null was removed on the way.
  const call = result.toolCalls.find((c) => c.tool === 'get-resource-links');
  assert.deepEqual(call.arguments, {});
  assert.equal(call.isError, false, JSON.stringify(call.output));
  const text = typeof call.output === 'string' ? call.output : call.output.map((p) => p.text ?? '').join('\n');
  assert.equal(text.match(/\[resource link\]/g)?.length, 3, text);
  // get-tiny-image: an input_image part with a PNG data URL, in the function_call_output the model got.
  const outputs = sent[1].input.filter((i) => i.type === 'function_call_output');
  const image = outputs.flatMap((o) => (Array.isArray(o.output) ? o.output : [])).find((p) => p.type === 'input_image');
  assert.ok(image, JSON.stringify(outputs).slice(0, 500));
  assert.match(image.image_url, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  await agent.close();
});

test('no request to the model side carries an MCP server URL, header value or session id', async () => {
  const log = [];
  const recording = async (url, init) => {
    const entry = { url, headers: Object.fromEntries(new Headers(init.headers)), body: init.body ?? '', responseHeaders: {} };
    log.push(entry);
    const response = await fetch(url, init);
    entry.responseHeaders = Object.fromEntries(response.headers);
    return response;
  };
  const token = 'Bearer everything-secret-51c9';
  const agent = createAgent({
    model: 'gpt-standin',
    portkey: portkey({ metadata: { _user: 'e2e' } }),
    servers: { everything: { url: everything.url, headers: { authorization: token, 'x-tenant': 'acme-internal-tenant' } } },
    fetch: recording,
  });
  const result = await agent.run('What is 2 + 3? Also echo "secrets stay home".');
  await agent.close();
  assert.equal(result.toolCalls.length, 2);

  const toMcp = log.filter((r) => r.url === everything.url);
  const toModel = log.filter((r) => r.url.startsWith(gateway.url));
  const sessionIds = new Set(toMcp.map((r) => r.responseHeaders['mcp-session-id'] ?? r.headers['mcp-session-id']).filter(Boolean));
  assert.equal(sessionIds.size, 1, 'the server assigned a session');
  assert.equal(toModel.length, 2);
  const secrets = [everything.url, new URL(everything.url).host, token, 'everything-secret', 'acme-internal-tenant', ...sessionIds];
  for (const request of [...toModel, ...model.requests]) {
    const everythingSent = JSON.stringify(request);
    for (const secret of secrets) assert.ok(!everythingSent.includes(secret), `${secret} reached the model side`);
  }
});

test('a provider error surfaces with its status and message', async () => {
  const agent = createAgent({ model: 'gpt-standin', portkey: portkey({ authorization: 'Bearer invalid' }), servers: { everything: { url: everything.url } } });
  await assert.rejects(agent.run('What is 2 + 3?'), (error) => {
    assert.equal(error.code, 'model');
    assert.equal(error.status, 401);
    assert.match(error.message, /HTTP 401.*Incorrect API key provided: invalid/);
    return true;
  });
  await agent.close();
});

/** An agent with the intranet demo server's token. */
function intranetAgent(intranet) {
  const headers = { authorization: `Bearer ${intranet.token}` };
  return createAgent({ model: 'gpt-standin', portkey: portkey(), servers: { intranet: { url: intranet.url, headers } } });
}

test('the intranet demo server: three turns, a call that depends on an earlier result', async () => {
  const intranet = await startIntranetServer();
  try {
    const agent = intranetAgent(intranet);
    const result = await agent.run('Who is Grace Hopper and what is on her calendar today?');
    assert.equal(result.turns, 3);
    assert.deepEqual(
      result.toolCalls.map((c) => [c.tool, c.turn]),
      [
        ['directory_lookup', 1],
        ['calendar_events', 2],
      ],
    );
    assert.deepEqual(result.toolCalls[1].arguments, { person_id: 'u-1002' });
    assert.match(result.outputText, /COBOL steering group/);
    await agent.close();

    const unauthorized = createAgent({ model: 'gpt-standin', portkey: portkey(), servers: { intranet: { url: intranet.url } } });
    await assert.rejects(unauthorized.run('Who is Grace Hopper?'), (error) => {
      assert.equal(error.code, 'mcp');
      assert.match(error.message, /requires authorization \(HTTP 401\)/);
      assert.ok(!error.message.includes(intranet.url));
      return true;
    });
    await unauthorized.close();
  } finally {
    await intranet.close();
  }
});

test('a server that forgets the session mid-run: a new session, the call retried, only an event to show', async () => {
  const intranet = await startIntranetServer();
  try {
    const agent = intranetAgent(intranet);
    const events = [];
    const result = await agent.run('Who is Ada Lovelace and what is on her calendar today?', {
      onEvent(event) {
        events.push(event);
        // Between the turns, before the calendar call goes out, the server loses every session.
        if (event.type === 'turnCompleted' && event.turn === 2) intranet.forgetSessions();
      },
    });
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.toolCalls.map((c) => [c.tool, c.isError]), [
      ['directory_lookup', false],
      ['calendar_events', false],
    ]);
    assert.match(result.outputText, /Difference Engine v2/);
    const warnings = events.filter((e) => e.type === 'warning');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /ended the session \(HTTP 404\); starting a new session/);
    assert.equal(events.filter((e) => e.type === 'serverConnected').length, 2);
    await agent.close();
  } finally {
    await intranet.close();
  }
});

test('the demo command prints a complete offline conversation', async () => {
  const env = { ...process.env };
  delete env.PORTKEY_API_KEY;
  const child = spawn(process.execPath, ['examples/demo.mjs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /a local stand-in that speaks the\s+Responses API plays the model/);
  assert.match(out, /→ intranet\/directory_lookup \{"name":"Ada Lovelace"\}/);
  assert.match(out, /→ intranet\/calendar_events \{"person_id":"u-1001"\}/);
  assert.match(out, /Answer:\nHere is what the tools returned:/);
  assert.match(out, /Design review: Difference Engine v2/);
});
