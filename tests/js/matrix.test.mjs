// Real servers, every transport and both protocol eras, through the public MCP client (connectMcp, the wasm
// core in Node): the official server-everything over Streamable HTTP, legacy HTTP+SSE and stdio; the Python
// SDK's server in the handshake era and the stateless revision, with SSE and plain JSON responses, and over
// stdio. Against each: every tool listed, a call with progress, one returning an image, one returning an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMcp } from 'mcp-loop';
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
