// In a plain web page in headless Chromium: the browser entry of the package, the wasm core, fetch with CORS
// against server-everything on another origin, and the model through a same-origin path the page's server
// proxies to the Portkey gateway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { root, startAll, startEverything, startGateway } from '../support/procs.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { overlap, startCountingServer } from '../support/counting-server.mjs';
import { startFaultyServer } from '../support/faulty-server.mjs';
import { launchBrowser, resultOf, startSite } from '../support/browser.mjs';
import { startTinyOAuth } from '../support/tiny-oauth.mjs';

let everything, gateway, model, counting, site, browserServer;

before(async () => {
  [everything, gateway, model, counting] = await startAll([
    startEverything('streamableHttp'),
    startGateway(),
    startModelStandIn(),
    startCountingServer({ delayMs: 150 }),
  ]);
  // The repository's js/, pkg/ and tests/browser/ (the test pages), and /portkey/v1/* proxied to the gateway.
  site = await startSite({ dir: root, gateway: gateway.url, allow: ['js', 'pkg', 'tests/browser'], index: '/tests/browser/index.html' });
  browserServer = await launchBrowser();
});

after(async () => {
  await browserServer?.close();
  await Promise.all([everything?.stop(), gateway?.stop(), model?.close(), counting?.close(), site?.close()]);
});

test('a web page runs the loop: get-sum and echo in one turn, both in the answer', async () => {
  const browser = await browserServer.connect();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const query = new URLSearchParams({ mcp: everything.url, model: model.url, q: 'What is 2 + 3? Also echo "hello from the browser".' });
    await page.goto(`${site.url}/?${query}`);
    await page.waitForFunction(() => window.__result, null, { timeout: 30_000 });
    const outcome = await page.evaluate(() => window.__result);
    assert.deepEqual(errors, []);
    assert.ok(outcome.ok, JSON.stringify(outcome.error));
    const { result } = outcome;
    assert.equal(result.turns, 2);
    assert.deepEqual(
      result.toolCalls.map((c) => [c.tool, c.turn]),
      [
        ['get-sum', 1],
        ['echo', 1],
      ],
    );
    assert.match(result.outputText, /The sum of 2 and 3 is 5\./);
    assert.match(result.outputText, /Echo: hello from the browser/);
    const origins = model.requests.map((r) => JSON.stringify(r));
    assert.ok(origins.every((r) => !r.includes(new URL(everything.url).host)), 'the MCP server stays out of model requests');
  } finally {
    await browser.close();
  }
});

test('a web page streams three rounds of three parallel calls: the same result as not streamed, calls overlapping', async () => {
  const browser = await browserServer.connect();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    counting.reset();
    const query = new URLSearchParams({ mcp: counting.url, name: 'counting', model: model.url, q: 'Do three rounds of slow lookups.', stream: '1' });
    await page.goto(`${site.url}/?${query}`);
    await page.waitForFunction(() => window.__result, null, { timeout: 60_000 });
    const outcome = await page.evaluate(() => window.__result);
    assert.deepEqual(errors, []);
    assert.ok(outcome.ok, JSON.stringify(outcome.error));
    const { result, streamed } = outcome;
    assert.equal(result.status, 'completed');
    const essence = (r) => [r.outputText, r.turns, r.toolCalls.map((c) => [c.turn, c.arguments.label, c.output])];
    assert.deepEqual(essence(streamed.result), essence(result));
    assert.equal(result.toolCalls.length, 9);
    const deltas = streamed.events.filter((e) => e.type === 'textDelta' && e.turn === 4).map((e) => e.delta).join('');
    assert.equal(deltas, result.outputText);
    const calls = counting.calls();
    assert.equal(calls.length, 18, 'nine calls per run, two runs');
    for (let round = 0; round < 6; round++) {
      const of = calls.slice(round * 3, round * 3 + 3);
      assert.ok(overlap(of), `round ${round} overlaps: ${JSON.stringify(of)}`);
    }
  } finally {
    await browser.close();
  }
});

test('a run paused for approval in Node is resumed in a web page from its snapshot', async () => {
  const { createAgent } = await import('mcp-loop');
  const viaGateway = { baseURL: gateway.url, provider: 'openai', customHost: model.url, authorization: 'Bearer standin' };
  const agent = createAgent({ model: 'gpt-standin', portkey: viaGateway, servers: { counting: { url: counting.url } }, approve: 'destructive' });
  counting.reset();
  const paused = await agent.run('Do one round of slow writes.');
  await agent.close();
  assert.equal(paused.status, 'awaiting_approval');
  assert.deepEqual(counting.calls(), []);
  const browser = await browserServer.connect();
  try {
    const page = await browser.newPage();
    await page.goto(`${site.url}/tests/browser/index.html?q=`);
    const result = await page.evaluate(
      async ({ snapshot, pending, mcp, customHost }) => {
        const { createAgent } = await import('/pkg/browser.js');
        const agent = createAgent({
          model: 'gpt-standin',
          portkey: { baseURL: new URL('/portkey/v1', location.href).href, provider: 'openai', customHost, authorization: 'Bearer standin' },
          servers: { counting: { url: mcp } },
          approve: 'destructive',
        });
        const decisions = Object.fromEntries(pending.map((p) => [p.callId, true]));
        const done = await agent.resume(snapshot, decisions);
        await agent.close();
        return done;
      },
      { snapshot: paused.snapshot, pending: paused.pending, mcp: counting.url, customHost: model.url },
    );
    assert.equal(result.status, 'completed', JSON.stringify(result));
    assert.equal(result.traceId, paused.traceId);
    assert.deepEqual(counting.calls().map((c) => c.label).sort(), ['r1a', 'r1b', 'r1c'], 'each approved call ran once, from the page');
  } finally {
    await browser.close();
  }
});

/** Opens `path` on the test site and waits for the page's `window.__result`. */
async function resultAt(path) {
  const browser = await browserServer.connect();
  try {
    return await resultOf(browser, `${site.url}${path}`);
  } finally {
    await browser.close();
  }
}

test('a module service worker imports the package, loads the core on first use and lists an MCP server', async () => {
  const outcome = await resultAt(`/tests/browser/sw.html?${new URLSearchParams({ mcp: everything.url })}`);
  assert.ok(outcome.ok, outcome.error);
  assert.ok(outcome.tools >= 10, `server-everything's tools converted in the worker: ${outcome.tools}`);
});

test("a Content Security Policy: with 'wasm-unsafe-eval' the core loads; without it init() says what to add", async () => {
  const allowed = await resultAt(`/tests/browser/csp.html?${new URLSearchParams({ csp: "script-src 'self' 'wasm-unsafe-eval'" })}`);
  assert.deepEqual([allowed.ok, allowed.tools, allowed.errors], [true, 1, []], allowed.error);
  const refused = await resultAt(`/tests/browser/csp.html?${new URLSearchParams({ csp: "script-src 'self'" })}`);
  assert.equal(refused.ok, false);
  assert.equal(refused.code, 'host');
  assert.match(refused.error, /could not load the mcp-loop core from http:\/\/127\.0\.0\.1:\d+\/pkg\/mcp_loop_bg\.wasm: .*'wasm-unsafe-eval'/);
  assert.deepEqual(refused.errors, [], 'a rejection the page caught, not an uncatchable module error');
});

test('a wasm file that is not where init() is told to look: a host error naming the URL', async () => {
  const outcome = await resultAt(`/tests/browser/csp.html?${new URLSearchParams({ wasm: '/pkg/moved.wasm' })}`);
  assert.equal(outcome.code, 'host');
  assert.match(outcome.error, /could not load the mcp-loop core from \/pkg\/moved\.wasm: HTTP 404; .*init\(\{ wasm: url \}\)/);
});

test('servers that send no CORS headers: the error says CORS (or host_permissions) and which endpoint, not just "Failed to fetch"', async () => {
  const closed = await startFaultyServer(); // answers no preflight and sends no Access-Control-* headers
  const browser = await browserServer.connect();
  try {
    const page = await browser.newPage();
    await page.goto(`${site.url}/tests/browser/index.html?q=`);
    const [mcp, run] = await page.evaluate(
      async ({ url, mcp, gateway }) => {
        const { connectMcp, createAgent } = await import('/pkg/browser.js');
        const outcome = (p) => p.then(
          () => null,
          (e) => ({ code: e.code, message: e.message, origin: e.origin, server: e.server }),
        );
        // The open-source gateway sends no CORS headers: a page cannot call it directly.
        const agent = createAgent({ model: 'm', servers: { everything: mcp }, portkey: { baseURL: gateway, authorization: 'Bearer standin' } });
        return [await outcome(connectMcp({ url, protocol: '2025-11-25', timeoutMs: 1000 })), await outcome(agent.run('What is 2 + 3?'))];
      },
      { url: closed.url, mcp: everything.url, gateway: `${gateway.url}/v1` },
    );
    assert.equal(mcp?.code, 'mcp', JSON.stringify(mcp));
    assert.match(mcp.message, /TypeError: Failed to fetch \(the browser could not reach the MCP server, or refused its answer: it must allow this page's origin with CORS, or an extension needs host_permissions for it\)/);
    assert.ok(!mcp.message.includes(new URL(closed.url).host), 'no address in a message the model may read');
    assert.equal(mcp.origin, new URL(closed.url).origin, 'the origin is given to the application as a field');
    assert.equal(run?.code, 'model', JSON.stringify(run));
    assert.match(run.message, /the browser could not reach the model endpoint, or refused its answer: it must allow this page's origin with CORS/);
    assert.ok(run.message.endsWith(`(endpoint ${new URL(gateway.url).origin})`), run.message);
  } finally {
    await browser.close();
    await closed.close();
  }
});

/** server-everything behind CORS that allows any origin but exposes no header: a page never sees its session id. */
function startUnexposingProxy(target) {
  const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*', 'access-control-allow-methods': '*' };
  const server = createServer(async (req, res) => {
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.origin;
    const upstream = await fetch(target, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const passed = Object.fromEntries([...upstream.headers].filter(([name]) => !name.startsWith('access-control-')));
    res.writeHead(upstream.status, { ...passed, ...cors });
    if (upstream.body) Readable.fromWeb(upstream.body).pipe(res);
    else res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}/mcp`, close: () => new Promise((r) => server.close(r)) })));
}

test('a server whose session id the page cannot read: the error names Access-Control-Expose-Headers', async () => {
  const proxy = await startUnexposingProxy(everything.url);
  const browser = await browserServer.connect();
  try {
    const page = await browser.newPage();
    await page.goto(`${site.url}/tests/browser/index.html?q=`);
    const error = await page.evaluate(async (url) => {
      const { connectMcp } = await import('/pkg/browser.js');
      return connectMcp({ url, protocol: '2025-11-25', timeoutMs: 5000 }).then(
        () => null,
        (e) => ({ code: e.code, message: e.message }),
      );
    }, proxy.url);
    assert.equal(error?.code, 'mcp', JSON.stringify(error));
    assert.match(error.message, /HTTP 400.*\(no Mcp-Session-Id reached this client: .*Access-Control-Expose-Headers: Mcp-Session-Id\)/);
  } finally {
    await browser.close();
    await proxy.close();
  }
});

test('a page signs a person in with a popup: the authorization server redirects back to a page of its origin', async () => {
  const tiny = await startTinyOAuth({ cors: true });
  const browser = await browserServer.connect();
  try {
    const page = await browser.newPage();
    await page.goto(`${site.url}/tests/browser/index.html?q=`);
    const outcome = await page.evaluate(async (url) => {
      const { connectMcp } = await import('/pkg/browser.js');
      try {
        const mcp = await connectMcp({ url, protocol: '2025-11-25', auth: { redirectUri: new URL('/tests/browser/callback.html', location.href).href } });
        const tools = (await mcp.listTools()).map((t) => t.name);
        await mcp.close();
        return { tools };
      } catch (error) {
        return { error: `${error.code}: ${error.message}` };
      }
    }, tiny.url);
    assert.deepEqual(outcome, { tools: ['echo'] });
    assert.equal(tiny.stats.authorizations, 1, 'one sign-in, in the popup');
  } finally {
    await browser.close();
    await tiny.close();
  }
});
