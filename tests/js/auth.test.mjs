// Authorization as the application meets it, against a minimal authorization server and MCP server written
// here (the real ones are in auth-e2e.test.mjs and the conformance suite): what happens when the person's part
// fails, never comes, or has no function to do it, and that an agent closed meanwhile does not hang.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connectMcp, createAgent } from 'mcp-loop';

let server, base;
const TOKEN = 'at-7f3c9e1d2b';

/** The MCP server refuses any other token; its origin is also its authorization server. */
before(async () => {
  server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const json = (status, body, headers = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    const url = new URL(req.url, base);
    switch (url.pathname) {
      case '/.well-known/oauth-protected-resource/mcp':
        return json(200, { resource: `${base}/mcp`, authorization_servers: [base] });
      case '/.well-known/oauth-authorization-server':
        return json(200, {
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          registration_endpoint: `${base}/register`,
          code_challenge_methods_supported: ['S256'],
        });
      case '/register':
        return json(201, { client_id: 'c1' });
      case '/token':
        return json(200, { access_token: TOKEN, token_type: 'Bearer' });
      case '/mcp': {
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          return json(401, { error: 'invalid_token' }, { 'www-authenticate': `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"` });
        }
        const message = JSON.parse(Buffer.concat(chunks));
        if (!('id' in message)) return res.writeHead(202).end();
        const result =
          message.method === 'initialize'
            ? { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'guarded', version: '1' } }
            : { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] };
        return json(200, { jsonrpc: '2.0', id: message.id, result });
      }
      default:
        return json(404, {});
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

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
