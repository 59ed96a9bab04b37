// The package as users get it: exports, types, files, and the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../support/procs.mjs';
import { cleanClone } from '../support/packed.mjs';
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

test('restate.d.ts and restate-client.d.ts declare exactly what mcp-loop/restate and mcp-loop/restate/client export', async () => {
  const declared = (file) =>
    [...readFileSync(new URL(`../../js/${file}`, import.meta.url), 'utf8').matchAll(/^export (?:declare )?(?:function|class|const) (\w+)/gm)].map((m) => m[1]);
  const client = declared('restate-client.d.ts');
  assert.deepEqual(client.sort(), Object.keys(await import('mcp-loop/restate/client')).sort());
  assert.deepEqual([...declared('restate.d.ts'), ...client].sort(), Object.keys(await import('mcp-loop/restate')).sort());
});

test('the published files are the JS, the types, the built wasm and both licenses, and nothing else', () => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }));
  const files = pack.files.map((f) => f.path).sort();
  const outside = files.filter((f) => !f.startsWith('js/'));
  assert.deepEqual(outside, ['LICENSE-APACHE', 'LICENSE-MIT', 'README.md', 'package.json', 'pkg/browser.js', 'pkg/mcp_loop.js', 'pkg/mcp_loop_bg.wasm']);
  for (const needed of ['js/core.js', 'js/node.js', 'js/browser.js', 'js/cli.js', 'js/index.d.ts', 'js/restate.js', 'js/restate.d.ts', 'js/restate-client.js', 'js/restate-client.d.ts']) assert.ok(files.includes(needed), needed);
});

// Packing a clean clone with its toolchain: tests/js/readme.test.mjs, which runs the README's examples from it.
test('npm pack from a clean clone without the toolchain refuses, saying what to run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-loop-clone-'));
  const clone = await cleanClone(dir);
  try {
    const pack = spawnSync('npm', ['pack', '--pack-destination', dir], { cwd: clone, encoding: 'utf8' });
    assert.notEqual(pack.status, 0, 'no package without its wasm');
    assert.match(pack.stderr, /cannot build pkg\/ \(the wasm core\) for the package; missing:.*npm-devDependencies\.\s+Run 'sh scripts\/setup\.sh'/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tgz')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
