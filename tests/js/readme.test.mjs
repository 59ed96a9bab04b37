// The README's JavaScript, checked: every ```js block is type-checked under `strict` against the package's own
// types, and the Node examples run against real local parts (server-everything, the counting server, the
// open-source Portkey gateway and the model stand-in; restate-server for the durable runs), all through the `npm
// pack`ed package a user installs.
// Each block is known here by its first line, with the declarations of the names the README leaves to the reader
// and, for a run, the literals replaced by local ones. A block this file does not know fails, and so does a
// replacement that finds nothing: a README change cannot leave a snippet unchecked.
//
// `README=/path/to/copy.md node --test tests/js/readme.test.mjs` checks another copy (to see a broken snippet fail).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { freePort, root, startAll, startEverything, startGateway, startProcess } from '../support/procs.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { startCountingServer } from '../support/counting-server.mjs';
import { installPacked, packCleanClone } from '../support/packed.mjs';
import { WORKER_NODE, startRestate } from '../support/restate.mjs';

const README = process.env.README ?? join(root, 'README.md');
const NAME = relative(root, README).startsWith('..') ? README : relative(root, README);

/** Compiler settings per place a snippet runs: Node, a module Web Worker, a page. */
const ENVIRONMENTS = {
  node: { lib: ['es2023'], types: ['node'], module: 'nodenext', moduleResolution: 'nodenext' },
  worker: { lib: ['es2023', 'webworker'], types: [], module: 'esnext', moduleResolution: 'bundler', customConditions: ['browser'] },
  page: { lib: ['es2023', 'dom'], types: [], module: 'esnext', moduleResolution: 'bundler', customConditions: ['browser'] },
};
const COMPILER = { strict: true, noEmit: true, target: 'es2023', moduleDetection: 'force', skipLibCheck: true };

const json = JSON.stringify;

/**
 * Every ```js block of the README, by its first line. `check` lists the parts to type-check (a part starts at its
 * `from` line, default the block's first; `declare` is put in front of it). `run(local)` says how the block runs:
 * a `prelude` for the names it leaves free, `replace` pairs (each must match), an `epilogue`, and what the output
 * must show (`expect`); `verify(local)` checks the servers afterwards.
 */
const BLOCKS = {
  "import { createAgent } from 'mcp-loop';": {
    check: [{ env: 'node' }],
    run: (local) => ({
      replace: [
        ["portkey: { apiKey: process.env.PORTKEY_API_KEY, provider: '@openai-prod' }", `portkey: ${json(local.portkey)}`],
        ["'http://localhost:8001/mcp'", json(local.everything.url)],
        ["'http://intranet.corp:8002/mcp'", json(local.counting.url)],
      ],
      // No tool fits the question, so the stand-in answers with it: the run completed, with the result printed.
      expect: [/^runStarted /m, /^toolsListed /m, /here is your message back: What's on my calendar today\? \[\]/, /mcp-loop-[0-9a-f]{32}\n$/],
    }),
  },

  '// worker.js': {
    // One block, two files: the worker, and the page that starts it.
    check: [
      {
        from: '// worker.js',
        env: 'worker',
        // TypeScript's webworker lib types `self` for any kind of worker; a module Web Worker's is a dedicated one.
        declare: `import type { AgentOptions, PortkeyOptions } from 'mcp-loop';
declare const self: DedicatedWorkerGlobalScope & typeof globalThis;
declare const model: string;
declare const portkey: PortkeyOptions;
declare const servers: NonNullable<AgentOptions['servers']>;`,
      },
      { from: '// page', env: 'page' },
    ],
  },

  "// Streamed: the model's text as it writes, each tool call as it starts and ends, then the result.": {
    check: [
      {
        env: 'node',
        declare: `import { createAgent, type Agent, type AgentOptions, type PortkeyOptions } from 'mcp-loop';
declare const agent: Agent;
declare const portkey: PortkeyOptions;
declare const servers: NonNullable<AgentOptions['servers']>;
declare const db: { save(value: unknown): Promise<void> };
declare const question: string;`,
      },
    ],
    run: (local) => ({
      prelude: `import { createAgent } from 'mcp-loop';
const portkey = ${json(local.portkey)};
const servers = { everything: { url: ${json(local.everything.url)} }, counting: { url: ${json(local.counting.url)} } };
const agent = createAgent({ model: 'gpt-standin', portkey, servers });
const db = { saved: 0, async save() { db.saved++; } };
const question = 'What is 2 + 3?';`,
      replace: [
        // The stand-in has no rule for closing tickets; it calls the counting server's destructive slow-write.
        ["careful.run('Close ticket 42')", "careful.run('Do one round of slow writes.')"],
        [
          '{ [paused.pending[0].callId]: true });',
          "{ [paused.pending[0].callId]: true });\n  console.log('resumed:', result.status, result.pending?.length);",
        ],
      ],
      epilogue: "console.log('snapshots saved:', db.saved);\nawait Promise.all([agent.close(), careful.close()]);",
      expect: [/here is your message back: Summarise the open VPN tickets\s*completed\n/, /^resumed: awaiting_approval 2$/m, /^snapshots saved: [1-9]/m],
    }),
    // Only the call the snippet approved ran; the other two still wait for a decision.
    verify: (local) => assert.deepEqual(local.counting.calls().map((c) => [c.tool, c.label]), [['slow-write', 'r1a']]),
  },

  '// worker.mjs — Node 22 or later: npm install mcp-loop @restatedev/restate-sdk': {
    // Served (not run to its end) from the packed install under Node 22, registered with restate-server: the next
    // block's run talks to it.
    serve: (local) => ({
      prelude: `const portkey = { baseURL: ${json(local.model.url)}, authorization: 'Bearer standin' };
const servers = { counting: { url: ${json(local.counting.url)} } };`,
      replace: [['port: 9080', `port: ${local.workerPort}`]],
    }),
    check: [
      {
        env: 'node',
        declare: `import type { AgentOptions, PortkeyOptions } from 'mcp-loop';
declare const portkey: PortkeyOptions;
declare const servers: NonNullable<AgentOptions['servers']>;`,
      },
    ],
  },

  "// Anywhere (Node 20 or later): no Restate SDK needed, plain HTTP to Restate's ingress.": {
    check: [{ env: 'node' }],
    run: (local) => ({
      replace: [
        ["'http://restate:8080'", json(local.restate.ingress)],
        // The stand-in has no rule for closing tickets; it calls the counting server's destructive slow-write.
        ["'Close ticket 42'", "'Do one round of slow writes tagged readme.'"],
      ],
      epilogue: "console.log('result:', result.status, result.toolCalls.map((c) => c.output).join(', '));",
      // follow() ends at the pause (the model asked for the writes); the writes run after the decisions.
      expect: [/^turnStarted\nturnCompleted\n/m, /^result: completed wrote readme-r1a, wrote readme-r1b, wrote readme-r1c$/m],
    }),
    verify: (local) => assert.deepEqual(local.counting.calls().filter((c) => c.label.startsWith('readme-')).length, 3),
  },

  'const agent = createAgent({': {
    check: [
      {
        env: 'node',
        // `sdkClient` is the official MCP SDK's Client; `portkey` the part of the portkey-ai SDK the snippet uses.
        declare: `import { createAgent, type McpClientLike } from 'mcp-loop';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
declare const portkey: { responses: { create(request: Record<string, unknown>): Promise<Record<string, unknown>> } };
declare const sdkClient: Client;
declare const otherClient: McpClientLike;`,
      },
    ],
  },

  '// A server behind the company login: the person signs in once, in a browser.': {
    // Type-checked only: the authorization flow runs against the conformance suite's servers
    // (tests/js/conformance.test.mjs), whose sign-in is a redirect read without a person.
    check: [
      {
        env: 'node',
        declare: `import { createAgent, type PortkeyOptions } from 'mcp-loop';
declare const portkey: PortkeyOptions;
declare function signIn(url: string): Promise<string>;`,
      },
    ],
  },

  "import { connectMcp } from 'mcp-loop';": {
    check: [{ env: 'node', declare: 'declare function token(): Promise<string>;\ndeclare const signal: AbortSignal;' }],
    run: (local) => ({
      prelude: "const token = async () => 'local-token';\nconst signal = new AbortController().signal;",
      replace: [
        ["'http://localhost:8001/mcp'", json(local.everything.url)],
        // server-everything has no search tool; its echo answers.
        ["mcp.callTool('search', { q: 'vpn' }", "mcp.callTool('echo', { message: 'vpn' }"],
      ],
      epilogue: "console.log('tools:', tools.length, 'result:', JSON.stringify(result));",
      expect: [/name: 'mcp-servers\/everything'/, /\} (2025-11-25|2026-07-28)\n/, /^tools: [1-9]\d* result: .*Echo: vpn/m],
    }),
  },
};

/** The ```js blocks of a Markdown text: `{ line, first, code }`, `line` being the first code line's number. */
function jsBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(js|javascript|mjs)\b/.test(lines[i])) continue;
    const end = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line));
    if (end < 0) throw new Error(`${NAME}:${i + 1}: a js block that never closes`);
    blocks.push({ line: i + 2, first: lines[i + 1].trim(), code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

const blocks = jsBlocks(await readFile(README, 'utf8'));
const local = {};
let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-loop-readme-'));
  const source = join(dir, 'source');
  await mkdir(source);
  [local.everything, local.gateway, local.model, local.counting] = await startAll([
    startEverything('streamableHttp'),
    startGateway(),
    startModelStandIn(),
    startCountingServer({ delayMs: 50 }),
    // The package as a release makes it: packed from a clean clone (of what is committed), whose prepack builds
    // the wasm core.
    packCleanClone(dir).then(async (packed) => {
      local.packed = packed;
      // With the Restate SDK, as the README's worker tells a user to install it (the package's optional peer): the
      // dev dependency's copy, since an offline install cannot look a version up.
      const restateSdk = join(root, 'node_modules/@restatedev/restate-sdk');
      await installPacked({ source, dir, where: join(dir, 'app'), tarball: packed.tarball, extra: [restateSdk] });
    }),
  ]);
  local.app = join(dir, 'app');
  // Durable runs: restate-server, and the README's worker served from the packed install.
  [local.restate, local.workerPort] = await startAll([startRestate(), freePort()]);
  const serving = blocks.find((b) => BLOCKS[b.first]?.serve);
  const file = join(local.app, 'readme-worker.mjs');
  await writeFile(file, blockSource(serving, BLOCKS[serving.first].serve(local)));
  local.worker = await startProcess('the README worker', WORKER_NODE, [file], { env: { RESTATE_LOGGING: 'WARN' }, probe: () => listening(local.workerPort) });
  await local.restate.register(`http://127.0.0.1:${local.workerPort}`);
  local.portkey = { baseURL: local.gateway.url, provider: 'openai', customHost: local.model.url, authorization: 'Bearer standin' };
  // For the type checks: Node's types and the official MCP SDK (a snippet passes its Client), as the app would have them.
  await mkdir(join(local.app, 'node_modules/@types'), { recursive: true });
  await symlink(join(root, 'node_modules/@types/node'), join(local.app, 'node_modules/@types/node'));
  await symlink(join(root, 'node_modules/@modelcontextprotocol'), join(local.app, 'node_modules/@modelcontextprotocol'));
});

after(async () => {
  await local.worker?.stop();
  await Promise.all([local.everything?.stop(), local.gateway?.stop(), local.model?.close(), local.counting?.close(), local.restate?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(`every js block of ${NAME} is known to this test, and every block it knows is there`, () => {
  const unknown = blocks.filter((b) => !BLOCKS[b.first]);
  assert.deepEqual(
    unknown.map((b) => `${NAME}:${b.line}: ${b.first}`),
    [],
    'add these blocks to BLOCKS in tests/js/readme.test.mjs (keyed by their first line), with what they need to type-check and, if they can, to run',
  );
  const firsts = blocks.map((b) => b.first);
  assert.deepEqual(firsts.filter((f, i) => firsts.indexOf(f) !== i), [], 'two blocks start with the same line: make their first lines differ');
  assert.deepEqual(Object.keys(BLOCKS).filter((key) => !firsts.includes(key)), [], `no block of ${NAME} starts with these any more: remove or re-key them`);
});

/** The files to type-check: `{ block, env, path, text, line, offset }` (`line`: its first README line; `offset`: preamble lines). */
function typeCheckFiles(app) {
  const files = [];
  test('the package packed from a clean clone holds the wasm core, its glue and both licenses', () => {
  const files = local.packed.files.map((f) => f.path);
  for (const needed of ['pkg/mcp_loop_bg.wasm', 'pkg/mcp_loop.js', 'pkg/browser.js', 'LICENSE-MIT', 'LICENSE-APACHE']) {
    assert.ok(files.includes(needed), `${needed} is in the tarball (${files.join(', ')})`);
  }
  assert.ok(local.packed.files.find((f) => f.path === 'pkg/mcp_loop_bg.wasm').size > 100_000, 'a real wasm module');
});

for (const block of blocks) {
    const parts = BLOCKS[block.first]?.check ?? [];
    const lines = block.code.split('\n');
    const starts = parts.map((part) => (part.from === undefined ? 0 : lines.findIndex((line) => line.trim() === part.from)));
    parts.forEach((part, i) => {
      if (starts[i] < 0) throw new Error(`${NAME}:${block.line}: the block has no line ${json(part.from)} to start a part at`);
      const end = starts.slice(i + 1).find((s) => s > starts[i]) ?? lines.length;
      const declare = part.declare ? `${part.declare}\n` : '';
      const text = declare + lines.slice(starts[i], end).join('\n') + '\n';
      const path = join(app, 'typecheck', `readme-${block.line + starts[i]}-${part.env}.mts`);
      files.push({ block, env: part.env, path, text, line: block.line + starts[i], offset: declare.split('\n').length - 1 });
    });
  }
  return files;
}

let checked;
/** Type-checks every block once (one program per environment); resolves to the messages per block. */
function typeCheck() {
  checked ??= (async () => {
    const files = typeCheckFiles(local.app);
    await mkdir(join(local.app, 'typecheck'));
    for (const file of files) await writeFile(file.path, file.text);
    const messages = new Map(blocks.map((b) => [b, []]));
    for (const env of Object.keys(ENVIRONMENTS)) {
      const mine = files.filter((f) => f.env === env);
      if (mine.length === 0) continue;
      const { options, errors } = ts.convertCompilerOptionsFromJson({ ...COMPILER, ...ENVIRONMENTS[env] }, local.app);
      assert.deepEqual(errors, [], 'compiler options');
      const program = ts.createProgram(mine.map((f) => f.path), options);
      for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
        const text = `TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
        const file = mine.find((f) => f.path === diagnostic.file?.fileName);
        if (!file) {
          for (const list of messages.values()) list.push(`${env}: ${text}`);
          continue;
        }
        const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
        const where = line < file.offset ? `preamble line ${line + 1}` : `${NAME}:${file.line + line - file.offset}`;
        messages.get(file.block).push(`${where}: ${text}`);
      }
    }
    return messages;
  })();
  return checked;
}

for (const block of blocks) {
  test(`${NAME}:${block.line} type-checks under strict against the package's types: ${block.first}`, async () => {
    assert.ok(BLOCKS[block.first], `unknown block: add it to BLOCKS in tests/js/readme.test.mjs`);
    const messages = (await typeCheck()).get(block);
    assert.deepEqual(messages, [], `the block does not type-check:\n${messages.join('\n')}`);
  });
}

/** A block as a file to run: its `prelude`, its code with the `replace` pairs applied (each must match), its `epilogue`. */
function blockSource(block, { prelude = '', replace = [], epilogue = '' }) {
  let code = block.code;
  for (const [from, to] of replace) {
    assert.ok(code.includes(from), `${NAME}:${block.line}: the run replaces ${json(from)}, which the block no longer has: update tests/js/readme.test.mjs`);
    code = code.split(from).join(to);
  }
  return `${prelude}\n${code}\n${epilogue}\n`;
}

/** Whether something accepts connections on loopback `port`. */
function listening(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket.end() && true));
    socket.on('error', () => resolve(false));
  });
}

/** Runs `node file` in `cwd`; resolves to its exit code and output, whatever they are. */
function runNode(file, cwd) {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd, timeout: 30_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.killed ? 'timed out' : error.code) : 0, stdout, stderr });
    });
  });
}

for (const block of blocks.filter((b) => BLOCKS[b.first]?.run)) {
  test(`${NAME}:${block.line} runs against local servers, the Portkey gateway and the model stand-in: ${block.first}`, async () => {
    const { expect, ...how } = BLOCKS[block.first].run(local);
    const file = join(local.app, `readme-${block.line}.mjs`);
    await writeFile(file, blockSource(block, how));
    const { code: exit, stdout, stderr } = await runNode(file, local.app);
    assert.equal(exit, 0, `node exited ${exit}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
    for (const pattern of expect) assert.match(stdout, pattern);
    BLOCKS[block.first].verify?.(local);
  });
}
