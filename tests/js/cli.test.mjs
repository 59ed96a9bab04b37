// The mcp-loop command as people and scripts run it: a Claude Desktop style config (a stdio and an HTTP server,
// values from the environment) answered through the real Portkey gateway and the model stand-in, JSON lines, an
// approval answered on a pseudo-terminal, Ctrl-C, `tools`, and what the errors say (never a URL or a secret).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, startAll, startGateway, startPython, STDIO } from '../support/procs.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { startCountingServer } from '../support/counting-server.mjs';

const CLI = join(root, 'js/cli.js');
const TEAM_TOKEN = 'team-secret-5e1f';

let gateway;
let model;
let python;
let counting;
let dir;
const children = new Set();

before(async () => {
  [gateway, model, python, counting] = await startAll([startGateway(), startModelStandIn(), startPython(), startCountingServer()]);
  dir = mkdtempSync(join(tmpdir(), 'mcp-loop-cli-'));
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  await Promise.all([gateway?.stop(), python?.stop(), model?.close(), counting?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** The model flags that reach the stand-in through the gateway. */
const viaGateway = () => ['--base-url', gateway.url, '--provider', 'openai', '--custom-host', model.url, '--model', 'gpt-standin'];

/** The child's environment: what the CLI needs and nothing of the machine's own PORTKEY_* settings. */
const childEnv = (extra = {}) => ({ PATH: process.env.PATH, HOME: process.env.HOME, OPENAI_API_KEY: 'standin', ...extra });

/** Writes `config` as a file in the test directory and returns its path. */
function configFile(name, config) {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** A Claude Desktop style file: the Python server over HTTP (its URL and a header from the environment) and
 * server-everything over stdio. */
const desktopConfig = () =>
  configFile('claude_desktop_config.json', {
    mcpServers: {
      calc: { url: '${env:CALC_URL}', headers: { 'x-team-token': '${env:TEAM_TOKEN}' } },
      everything: { command: STDIO.everything.command, args: STDIO.everything.args, env: { GREETING: '${GREETING}' } },
    },
  });
const desktopEnv = () => childEnv({ CALC_URL: python.url, TEAM_TOKEN, GREETING: 'greeting-7c2d' });

/** Starts `command args`: `{ child, done }`, `done` resolving to `{ code, stdout, stderr }` once it ended. */
function start(command, args, env = childEnv()) {
  const child = spawn(command, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/** `run` through the stand-in behind the gateway, with the counting server. */
const countingRun = (...args) => ['run', '--server', `counting=${counting.url}`, ...viaGateway(), ...args];

/** Runs the CLI to its end. */
const cli = (args, env) => start(process.execPath, [CLI, ...args], env).done;

/** The CLI's exit code and output, for failure messages. */
const explained = (out) => `exit ${out.code}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}`;

/** Waits (at most 10 s) until `condition()` holds. */
async function until(condition) {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(condition(), 'the condition held within 10 s');
}

test('run --config: a stdio and an HTTP server from a Claude Desktop file answer through the gateway', async () => {
  const question = 'What is 2 + 3? Also echo "hello from the cli".';
  const out = await cli(['run', '--config', desktopConfig(), ...viaGateway(), question], desktopEnv());
  assert.equal(out.code, 0, explained(out));
  assert.match(out.stdout, /calc__add: 5/, explained(out));
  assert.match(out.stdout, /everything__echo: Echo: hello from the cli/);
  assert.match(out.stderr, /^\[calc\] add: ok, \d+ ms$/m);
  assert.match(out.stderr, /^\[everything\] echo: ok, \d+ ms$/m);
  for (const secret of [TEAM_TOKEN, 'greeting-7c2d', python.url, new URL(python.url).host]) {
    assert.ok(!`${out.stdout}${out.stderr}`.includes(secret), secret);
  }
});

test('run --json: every line is JSON, with the tool calls and the result last', async () => {
  const out = await cli(['run', '--json', '--config', desktopConfig(), ...viaGateway(), 'What is 2 + 3?'], desktopEnv());
  assert.equal(out.code, 0, explained(out));
  const lines = out.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
  const finished = lines.filter((e) => e.type === 'toolCallFinished');
  assert.deepEqual(finished.map((e) => [e.server, e.tool, e.isError]), [['calc', 'add', false]]);
  assert.ok(lines.some((e) => e.type === 'textDelta'), 'the answer streams');
  const result = lines.at(-1);
  assert.equal(result.type, 'result');
  assert.equal(result.status, 'completed');
  assert.match(result.outputText, /calc__add: 5/);
  assert.equal(lines.filter((e) => e.type === 'result').length, 1);
});

test('run --approve destructive without a terminal: exit 3, the pending calls printed, nothing written', async () => {
  counting.reset();
  const out = await cli(countingRun('--approve', 'destructive', 'Do one round of slow writes.'));
  assert.equal(out.code, 3, explained(out));
  assert.equal(out.stderr.match(/\[counting\] slow-write \{"label":"r1[abc]"\}/g)?.length, 3, explained(out));
  assert.deepEqual(counting.calls(), []);
});

/** `s` quoted for sh. */
const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;

test('run --approve destructive on a terminal: y to each question, the run completes, each write once', async () => {
  counting.reset();
  const args = [process.execPath, CLI, ...countingRun('--approve', 'destructive', 'Do one round of slow writes.')];
  // script(1) from util-linux runs the command on a pseudo-terminal: stdin, stdout and stderr are all TTYs.
  const { child, done } = start('script', ['-qfec', args.map(quote).join(' '), '/dev/null']);
  let screen = '';
  let answered = 0;
  child.stdout.on('data', (d) => {
    screen += d;
    for (const asked = screen.split('[y/N]').length - 1; answered < asked; answered++) child.stdin.write('y\r');
  });
  const out = await done;
  assert.equal(out.code, 0, explained(out));
  assert.equal(answered, 3, screen);
  assert.match(screen, /Allow \[counting\] slow-write \{"label":"r1a"\}\? \[y\/N\]/);
  assert.match(screen, /slow-write: wrote r1a/);
  assert.deepEqual(counting.calls().map((c) => `${c.tool} ${c.label}`).sort(), ['slow-write r1a', 'slow-write r1b', 'slow-write r1c']);
});

test('Ctrl-C during a call: exit 130, and the server is told the call is cancelled', async () => {
  counting.reset();
  const { child, done } = start(process.execPath, [CLI, ...countingRun('Wait forever, please.')]);
  await until(() => counting.calls().length > 0);
  process.kill(child.pid, 'SIGINT');
  const out = await done;
  assert.equal(out.code, 130, explained(out));
  await counting.firstCancelled();
  const [call] = counting.calls();
  assert.equal(call.tool, 'wait-forever');
  assert.equal(call.cancelled, true);
});

test('tools --config lists each server with the strict status of its tools; --json too', async () => {
  const out = await cli(['tools', '--config', desktopConfig()], desktopEnv());
  assert.equal(out.code, 0, explained(out));
  assert.match(out.stdout, /^calc: 5 tools, 5 strict \(python-test-server [\d.]+, [\d-]+\)$/m);
  assert.match(out.stdout, /^ {2}strict {6}add$/m);
  assert.match(out.stdout, /^everything: \d+ tools, \d+ strict /m);
  assert.match(out.stdout, /^ {2}note: simulate-research-query: /m);
  const json = await cli(['tools', '--json', '--config', desktopConfig()], desktopEnv());
  const { servers } = JSON.parse(json.stdout);
  assert.deepEqual(servers.map((s) => s.name), ['calc', 'everything']);
  for (const server of servers) {
    assert.ok(server.tools.length > 0 && server.tools.every((t) => typeof t.strict === 'boolean' && t.type === 'function'), server.name);
    assert.ok(Array.isArray(server.notes));
  }
});

test('a server that cannot be reached is named, never shown by its URL; the others are still listed', async () => {
  const file = configFile('down.json', {
    servers: { down: { type: 'http', url: 'http://127.0.0.1:9/mcp?api_key=k-33aa', timeoutMs: 500 }, calc: { url: python.url } },
  });
  const out = await cli(['tools', '--config', file]);
  assert.equal(out.code, 4, explained(out));
  assert.match(out.stderr, /mcp-loop: MCP server 'down': /);
  assert.match(out.stdout, /^calc: 5 tools/m);
  for (const secret of ['k-33aa', '127.0.0.1:9']) assert.ok(!out.stderr.includes(secret), explained(out));
});

test('--version, and the errors of a missing file, an unset variable and a bad command line', async () => {
  const version = await cli(['--version']);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  assert.equal(version.code, 0);

  const missing = await cli(['run', '--config', join(dir, 'nope.json'), 'hello']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^mcp-loop: cannot read .*nope\.json: no such file$/m);

  const intranet = { url: 'http://127.0.0.1:1/mcp', headers: { authorization: 'Bearer ${env:MCP_LOOP_TEST_UNSET}' } };
  const unset = configFile('unset.json', { mcpServers: { intranet } });
  const unsetOut = await cli(['tools', '--config', unset]);
  assert.equal(unsetOut.code, 2);
  assert.match(unsetOut.stderr, /server 'intranet': the environment variable MCP_LOOP_TEST_UNSET is not set/);

  const convert = await cli(['convert', join(dir, 'nope.json')]);
  assert.equal(convert.code, 2);
  assert.match(convert.stderr, /cannot read .*nope\.json: no such file/);
  assert.doesNotMatch(convert.stderr, /not JSON/);

  const usage = await cli(['run', '--approve', 'sometimes', '--server', 'a=http://127.0.0.1:1/mcp', 'hello']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--approve must be never, destructive, always\nRun 'mcp-loop run --help' for the usage\./);

  const help = await cli(['run', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /exit codes: 0 completed · 2 usage or configuration error · 3 paused/);
});
