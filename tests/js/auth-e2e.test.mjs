// Authorization end to end, real parts only: the certified `oidc-provider` as the company IdP, an MCP server
// (official SDK) that takes only its JWTs, mcp-loop signing in through discovery, dynamic registration, PKCE and
// resource indicators, then refreshing, and client credentials (Node and the native host). All on loopback; every
// process stopped by pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectMcp, createAgent } from 'mcp-loop';
import { startCompanyIdp } from '../support/company-idp.mjs';
import { startProtectedServer } from '../support/protected-server.mjs';
import { freePort, root, startAll, startGateway } from '../support/procs.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';

const TTL_S = 3;

/** A fresh IdP and protected server for one test, closed after it. */
async function stack(t, accessTokenTtl = 60) {
  const idp = await startCompanyIdp({ accessTokenTtl });
  const server = await startProtectedServer({ issuer: idp.issuer });
  t.after(() => Promise.all([server.close(), idp.close()]));
  // Every credential issued: the access tokens the server saw, codes, refresh tokens and client secrets.
  const secrets = () => [...server.seen.tokens, ...idp.secrets()];
  return { idp, server, secrets };
}

const leaked = (secrets, where) => secrets.filter((secret) => where.includes(secret));

/** Runs the Node script `script` with `args`, signing in for every URL it prints; resolves to its exit and output. */
function runSigningIn(idp, script, args) {
  const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const signIns = [];
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    // A second sign-in is answered too, so a missing refresh fails an assertion instead of hanging.
    for (const [, url] of [...stderr.matchAll(/open this URL in a browser:\n(\S+)\n/g)].slice(signIns.length)) {
      const answered = idp.signIn(url).then(async (redirect) => (await fetch(redirect)).text());
      signIns.push(answered.catch((error) => `sign-in failed: ${error.message}`));
    }
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 30_000);
  return exited.then(async (code) => {
    clearTimeout(timer);
    return { code, stdout, stderr, signIns: await Promise.all(signIns) };
  });
}

test('Node, loopback sign-in: one sign-in at the IdP, an expired token is refreshed without the person', async (t) => {
  const { idp, server, secrets } = await stack(t, TTL_S);
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const run = await runSigningIn(idp, 'tests/support/auth-agent.mjs', [server.url, redirectUri, String(TTL_S * 1000 + 1500)]);
  run.lines = run.stdout.trim().split('\n').filter(Boolean).map(JSON.parse);

  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.deepEqual(run.lines, [{ tools: ['whoami', 'echo'] }, { call: 1, text: 'alice', isError: false }, { call: 2, text: 'alice', isError: false }]);
  assert.match(run.signIns[0], /Signed in to server/);
  assert.deepEqual(idp.errors, []);
  assert.equal(idp.authorizations, 1, `one sign-in; token requests: ${JSON.stringify(idp.tokenRequests)}`);
  // One code grant, then refreshes (ahead of expiry, or on the 401 of an expired token), never a second sign-in.
  const [first, ...rest] = idp.tokenRequests;
  assert.deepEqual(first, { grantType: 'authorization_code', resource: server.url });
  assert.ok(rest.length >= 1 && rest.every((r) => r.grantType === 'refresh_token' && r.resource === server.url), JSON.stringify(rest));
  assert.ok(server.seen.tokens.length >= 2, 'the call after the first token expired used a refreshed one');
  assert.deepEqual(leaked(secrets(), run.stdout + run.stderr), []);
});

test('whole agent runs through Portkey and the model stand-in: no credential reaches the model, an event or a snapshot; a second agent reuses the stored token', async (t) => {
  const { idp, server, secrets } = await stack(t);
  const [gateway, model] = await startAll([startGateway(), startModelStandIn()]);
  t.after(() => Promise.all([gateway.stop(), model.close()]));
  const events = [];
  const snapshots = [];
  // One store for both agents (the default, this process's memory, would carry tokens from other tests).
  const kept = new Map();
  const storage = { get: (key) => kept.get(key), set: (key, value) => void kept.set(key, value) };
  const auth = { redirectUri: `http://127.0.0.1:${await freePort()}/callback`, authorize: (url) => idp.signIn(url), storage };
  const agentFor = () =>
    createAgent({
      model: 'gpt-standin',
      portkey: { baseURL: gateway.url, provider: 'openai', customHost: model.url, authorization: 'Bearer standin' },
      servers: { hr: { url: server.url, auth } },
    });
  const agent = agentFor();
  const result = await agent.run('Echo "hello"', { onEvent: (e) => events.push(e), onSnapshot: (s) => snapshots.push(s) });
  await agent.close();
  // A second agent starts with the stored token: no second sign-in.
  const second = agentFor();
  const again = await second.run('Echo "again"', { onEvent: (e) => events.push(e), onSnapshot: (s) => snapshots.push(s) });
  await second.close();
  assert.equal(again.status, 'completed');
  assert.match(again.outputText, /Echo: again/);

  assert.equal(result.status, 'completed');
  assert.deepEqual(result.toolCalls.map((c) => [c.tool, c.isError]), [['echo', false]]);
  assert.match(result.outputText, /Echo: hello/);
  assert.equal(idp.authorizations, 1);
  assert.ok(snapshots.length >= 1);
  assert.ok(server.seen.tokens.length >= 1 && idp.secrets().length >= 2, 'an access token, a code and a client secret to look for');
  const modelSide = JSON.stringify(model.requests) + gateway.output();
  assert.deepEqual(leaked(secrets(), modelSide), [], 'credentials reached the model side');
  assert.deepEqual(leaked(secrets(), JSON.stringify(events)), [], 'credentials in an event');
  assert.deepEqual(leaked(secrets(), JSON.stringify(snapshots)), [], 'credentials in a snapshot');
});

test('machine credentials: client credentials for the MCP server as the resource', async (t) => {
  const { idp, server } = await stack(t);
  const { clientId, clientSecret } = idp.machine;
  const connection = await connectMcp({ url: server.url, auth: { grant: 'client_credentials', clientId, clientSecret } });
  try {
    assert.deepEqual((await connection.listTools()).map((tool) => tool.name), ['whoami', 'echo']);
    assert.deepEqual((await connection.callTool('whoami')).content, [{ type: 'text', text: clientId }]);
  } finally {
    await connection.close();
  }
  assert.deepEqual(idp.tokenRequests, [{ grantType: 'client_credentials', resource: server.url }]);
  assert.equal(idp.authorizations, 0);
});

// The native host: the conformance client (built by scripts/test.sh) takes its grant and credentials from the
// conformance context, like the suite's client-credentials scenario.
test('native host, machine credentials: the conformance client lists the tools with a client-credentials token', async (t) => {
  const { idp, server, secrets } = await stack(t);
  const binary = join(resolve(root, process.env.CARGO_TARGET_DIR ?? 'target'), 'debug/examples/conformance_client');
  assert.ok(existsSync(binary), 'the native conformance client is built (scripts/test.sh builds it)');
  const { clientId, clientSecret } = idp.machine;
  const env = {
    ...process.env,
    MCP_CONFORMANCE_SCENARIO: 'auth/client-credentials-basic',
    MCP_CONFORMANCE_CONTEXT: JSON.stringify({ client_id: clientId, client_secret: clientSecret }),
  };
  const child = spawn(binary, [server.url], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 30_000);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(timer);

  assert.equal(code, 0, output);
  assert.deepEqual(idp.tokenRequests, [{ grantType: 'client_credentials', resource: server.url }]);
  assert.ok(server.seen.accepted >= 2, 'the session was opened and the tools listed with the token');
  assert.deepEqual(leaked([...secrets(), clientSecret], output), []);
});

test('the CLI signs in once and keeps the tokens for the next run, in a file only its owner reads', async (t) => {
  const { idp, server, secrets } = await stack(t);
  const dir = await mkdtemp(join(tmpdir(), 'mcp-loop-cli-tokens-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokens = join(dir, 'tokens.json');
  const args = ['tools', '--server', `hr=${server.url}`, '--sign-in-port', String(await freePort()), '--tokens', tokens, '--json'];
  const first = await runSigningIn(idp, 'js/cli.js', args);
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
  assert.equal(first.signIns.length, 1);
  assert.deepEqual(JSON.parse(first.stdout).servers[0].tools.map((tool) => tool.name), ['whoami', 'echo']);
  assert.equal((await stat(tokens)).mode & 0o777, 0o600);
  const second = await runSigningIn(idp, 'js/cli.js', args);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.signIns.length, 0, 'the stored token serves the next run');
  assert.deepEqual(leaked(secrets(), first.stdout + first.stderr + second.stdout + second.stderr), []);
});
