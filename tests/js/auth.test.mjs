// Authorization as the application meets it, against a minimal authorization server and MCP server
// (tests/support/tiny-oauth.mjs; the real ones are in auth-e2e.test.mjs and the conformance suite): what
// happens when the person's part fails, never comes, or has no function to do it, and that an agent closed
// meanwhile does not hang.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectMcp, createAgent } from 'mcp-loop';
import { TOKEN, startTinyOAuth } from '../support/tiny-oauth.mjs';

let tiny, base;

before(async () => {
  tiny = await startTinyOAuth();
  base = tiny.base;
});

after(() => tiny.close());

/** A fresh token store each time (the default, this process's memory, would carry tokens from test to test). */
function memory() {
  const store = new Map();
  return { store, get: async (key) => store.get(key), set: async (key, value) => void store.set(key, value) };
}

const options = (auth) => ({
  url: `${base}/mcp`,
  protocol: '2025-11-25',
  timeoutMs: 5000,
  auth: { redirectUri: 'https://app.example/callback', storage: memory(), ...auth },
});

test('a sign-in completed by the application: the server is reached with its token', async () => {
  const mcp = await connectMcp(options({ authorize: async (url) => `https://app.example/callback?code=x&state=${new URL(url).searchParams.get('state')}` }));
  assert.deepEqual((await mcp.listTools()).map((t) => t.name), ['echo']);
  await mcp.close();
});

test('a sign-in that fails, that has no function, or with a forged state: the connection fails, saying why', async () => {
  const failing = connectMcp(options({ authorize: async () => Promise.reject(new TypeError('window closed')) }));
  await assert.rejects(failing, (e) => e.code === 'mcp' && /authorization failed: the authorization was not completed \(TypeError\)/.test(e.message));
  // Not a loopback redirect URI: no default, and the message says what to set.
  await assert.rejects(connectMcp(options({})), /auth\.authorize is not set/);
  const forged = connectMcp(options({ authorize: async () => 'https://app.example/callback?code=x&state=forged' }));
  await assert.rejects(forged, /state is not the one sent/);
});

test('an agent closed while the person has not signed in yet ends without waiting for them', async () => {
  let asked;
  const signIn = new Promise((resolve) => (asked = resolve));
  const agent = createAgent({
    model: 'm',
    portkey: { baseURL: `${base}/v1` },
    servers: { guarded: { ...options({ authorize: (url) => (asked(url), new Promise(() => {})) }) } },
  });
  const run = agent.run('hi').then(
    (result) => result.status,
    (error) => error.code,
  );
  assert.match(await signIn, /\/authorize\?response_type=code/);
  await agent.close();
  assert.equal(await run, 'cancelled');
});

test('a second agent starts with the token the first one got; a stored state for another server is not used', async () => {
  let signIns = 0;
  const storage = memory();
  const { store } = storage;
  const authorize = async (url) => (signIns++, `https://app.example/callback?code=x&state=${new URL(url).searchParams.get('state')}`);
  const first = await connectMcp(options({ authorize, storage }));
  await first.close();
  assert.equal(signIns, 1);
  const [[key, state]] = [...store];
  assert.equal(key, `mcp-loop/auth ${base}/mcp`);
  assert.equal(state.accessToken, TOKEN);
  const second = await connectMcp(options({ authorize, storage }));
  assert.deepEqual((await second.listTools()).map((t) => t.name), ['echo']);
  await second.close();
  assert.equal(signIns, 1, 'no second sign-in');
  // A state whose resource is another server's is not trusted: the client signs in.
  store.set(key, { ...state, resource: 'https://elsewhere.example/mcp' });
  const third = await connectMcp(options({ authorize, storage }));
  await third.close();
  assert.equal(signIns, 2);
});
