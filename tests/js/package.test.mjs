// The package as users get it: exports, types, files, and the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { root } from '../support/procs.mjs';
import { toFunctionTools } from '../../js/node.js';

test('the package root resolves to the Node entry and its API', async () => {
  const api = await import('mcp-loop');
  assert.equal(typeof api.createAgent, 'function');
  assert.equal(typeof api.toFunctionTools, 'function');
  assert.equal(typeof api.McpLoopError, 'function');
});

test('index.d.ts declares exactly what the entry exports', async () => {
  const api = await import('mcp-loop');
  const dts = readFileSync(new URL('../../js/index.d.ts', import.meta.url), 'utf8');
  const declared = [...dts.matchAll(/^export (?:declare )?(?:function|class|const) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(api).sort());
});

test('the published files are the JS, the types and the built wasm', () => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }));
  const files = pack.files.map((f) => f.path).sort();
  for (const needed of ['js/core.js', 'js/node.js', 'js/browser.js', 'js/cli.js', 'js/index.d.ts', 'pkg/mcp_loop.js', 'pkg/mcp_loop_bg.wasm', 'pkg/browser.js', 'package.json', 'README.md']) {
    assert.ok(files.includes(needed), `${needed} is published (${files.join(', ')})`);
  }
  assert.ok(files.every((f) => !f.startsWith('tests/') && !f.startsWith('src/')), files.join(', '));
});

test('mcp-loop convert prints the function tools the model gets, as toFunctionTools does', () => {
  const list = { tools: [{ name: 'lookup.person', description: 'Find someone', inputSchema: { type: 'object', properties: { name: { type: 'string' } } } }, { bad: true }] };
  const convert = (...flags) => JSON.parse(execFileSync(process.execPath, ['js/cli.js', 'convert', ...flags], { cwd: root, input: JSON.stringify(list), encoding: 'utf8' }));
  const { tools, notes } = convert('--server', 'hr', '--prefix', 'always', '--strict', 'false');
  assert.deepEqual(tools, [
    { type: 'function', name: 'hr__lookup_person', description: 'Find someone', parameters: { type: 'object', properties: { name: { type: 'string' } } }, strict: false },
  ]);
  assert.equal(notes.length, 1);
  for (const [flags, options] of [
    [[], {}],
    [['--strict', 'true', '--max-description-chars', '5'], { strict: true, maxDescriptionChars: 5 }],
    [['--strict', 'auto', '--server', 'x'], { strict: 'auto', server: 'x' }],
  ]) {
    const lib = toFunctionTools(list, options);
    assert.deepEqual(convert(...flags), { tools: lib.tools, notes: lib.notes }, flags.join(' '));
  }
  const bad = spawnSync(process.execPath, ['js/cli.js', 'convert'], { cwd: root, input: 'not json', encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /not JSON/);
  const unknown = spawnSync(process.execPath, ['js/cli.js', 'frobnicate'], { cwd: root, encoding: 'utf8' });
  assert.equal(unknown.status, 2);
});
