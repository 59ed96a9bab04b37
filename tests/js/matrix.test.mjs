// Real servers, every transport and both protocol eras, through the public MCP client (connectMcp, the wasm
// core in Node): the official server-everything over Streamable HTTP, legacy HTTP+SSE and stdio; the Python
// SDK's server in the handshake era and the stateless revision, with SSE and plain JSON responses, and over
// stdio. Against each: every tool listed, a call with progress, one returning an image, one returning an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMcp, toFunctionTools } from 'mcp-loop';
import { STDIO, startEverything, startPython } from '../support/procs.mjs';

const EVERYTHING = {
  tools: ['echo', 'get-sum', 'get-tiny-image', 'trigger-long-running-operation'],
  progress: ['trigger-long-running-operation', { duration: 1, steps: 3 }],
  image: ['get-tiny-image', {}],
  error: ['get-sum', { a: 'not a number', b: 1 }],
};
const PYTHON = {
  tools: ['add', 'slow_progress', 'image', 'fail'],
  progress: ['slow_progress', { steps: 3 }],
  image: ['image', {}],
  error: ['fail', { message: 'expected failure' }],
};

const CASES = [
  { name: 'server-everything, Streamable HTTP', start: () => startEverything('streamableHttp'), kind: EVERYTHING, version: '2025-11-25' },
  { name: 'server-everything, legacy HTTP+SSE', start: () => startEverything('sse'), kind: EVERYTHING, version: '2025-11-25', legacy: true },
  { name: 'server-everything, stdio', stdio: STDIO.everything, kind: EVERYTHING, version: '2025-11-25' },
  { name: 'python mcp, handshake era, SSE', start: () => startPython(), protocol: '2025-11-25', kind: PYTHON, version: '2025-11-25' },
  { name: 'python mcp, handshake era, JSON', start: () => startPython({ json: true }), protocol: '2025-11-25', kind: PYTHON, version: '2025-11-25', noProgress: true },
  { name: 'python mcp, stateless revision (detected), SSE', start: () => startPython({ stateless: true }), kind: PYTHON, version: '2026-07-28' },
  { name: 'python mcp, stateless revision (detected), JSON', start: () => startPython({ stateless: true, json: true }), kind: PYTHON, version: '2026-07-28', noProgress: true },
  { name: 'python mcp, stdio (detected)', stdio: STDIO.python, kind: PYTHON, version: '2026-07-28' },
];

for (const c of CASES) {
  test(c.name, async () => {
    const server = c.start ? await c.start() : null;
    const events = [];
    try {
      const target = server ? { url: server.url } : c.stdio;
      const mcp = await connectMcp({ ...target, protocol: c.protocol ?? 'auto', timeoutMs: 20_000, onEvent: (e) => events.push(e) });
      assert.equal(mcp.protocolVersion, c.version);
      const names = (await mcp.listTools()).map((t) => t.name);
      for (const name of c.kind.tools) assert.ok(names.includes(name), `${name} listed (${names.join(', ')})`);

      const progress = [];
      const done = await mcp.callTool(...c.kind.progress, { onProgress: (p) => progress.push(p) });
      assert.ok(!done.isError, JSON.stringify(done));
      if (!c.noProgress) {
        assert.ok(progress.length >= 2, `progress arrived (${JSON.stringify(progress)})`);
        assert.equal(progress.at(-1).total, 3);
      }

      const image = await mcp.callTool(...c.kind.image);
      const picture = image.content.find((b) => b.type === 'image');
      assert.equal(picture?.mimeType, 'image/png');
      assert.ok(Buffer.from(picture.data, 'base64').subarray(1, 4).toString() === 'PNG', 'a real PNG');

      const failed = await mcp.callTool(...c.kind.error);
      assert.equal(failed.isError, true, JSON.stringify(failed));
      assert.ok(failed.content[0].text.length > 0);

      if (c.legacy) assert.ok(events.some((e) => e.type === 'warning' && /legacy HTTP\+SSE/.test(e.message)), 'fell back to HTTP+SSE');
      await mcp.close();
    } finally {
      await server?.stop();
    }
  });
}

/** server-everything's `tools/list` result, asked by hand over Streamable HTTP (no library in between). */
async function rawToolsList(url) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const post = async (body, extra = {}) => {
    const response = await fetch(url, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
    return { session: response.headers.get('mcp-session-id'), text: await response.text() };
  };
  const clientInfo = { name: 'raw', version: '1' };
  const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo } });
  const session = { 'mcp-session-id': init.session, 'mcp-protocol-version': '2025-11-25' };
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);
  const { text } = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }, session);
  const data = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).filter(Boolean);
  return data.map((d) => JSON.parse(d)).find((m) => m.id === 2).result.tools;
}

test('server-everything: listTools() is the raw tools/list result field for field, and conversion hides its task-only tool with a note', async () => {
  const server = await startEverything('streamableHttp');
  try {
    const raw = await rawToolsList(server.url);
    assert.ok(raw.some((t) => t.outputSchema) && raw.some((t) => t.execution?.taskSupport === 'required'), 'the server still has what this test is about');
    const mcp = await connectMcp({ url: server.url });
    const listed = await mcp.listTools();
    await mcp.close();
    assert.deepEqual(listed, raw);
    const { tools, notes } = toFunctionTools(listed, { server: 'everything' });
    const taskOnly = raw.filter((t) => t.execution?.taskSupport === 'required').map((t) => t.name);
    for (const name of taskOnly) {
      assert.ok(!tools.some((t) => t.name.includes(name)), `${name} is not offered to the model`);
      assert.ok(notes.some((n) => n.includes(name) && /task/.test(n)), `${name} is noted: ${notes.join('; ')}`);
    }
    assert.equal(tools.length, raw.length - taskOnly.length);
  } finally {
    await server.stop();
  }
});

test('python mcp, stateless revision: subscriptions/listen carries a tool list change', async () => {
  const server = await startPython({ stateless: true });
  const events = [];
  try {
    const mcp = await connectMcp({ url: server.url, onEvent: (e) => events.push(e) });
    assert.equal(mcp.protocolVersion, '2026-07-28');
    assert.ok(!(await mcp.listTools()).some((t) => t.name === 'grown'));
    await mcp.callTool('grow');
    for (let i = 0; i < 100 && !events.some((e) => e.type === 'toolsChanged'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(events.some((e) => e.type === 'toolsChanged'), 'the change arrived on the listen stream');
    assert.ok((await mcp.listTools()).some((t) => t.name === 'grown'));
    await mcp.close();
  } finally {
    await server.stop();
  }
});
