// Node's own HTTP client (js/nodehttp.js), which the Node entry uses unless the application passes `fetch`:
// keep-alive connections, servers behind a private CA and client certificates (per server and for the model
// endpoint), redirects as fetch follows them, compressed answers, and errors that name neither host nor address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { connectMcp, createAgent } from 'mcp-loop';
import { startCountingServer } from '../support/counting-server.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { startAll } from '../support/procs.mjs';

let dir;
let pki;
let counting;
let model;

/** A private CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makePki() {
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Intranet Test CA', '-days', '2']);
  for (const [name, san] of [['server', 'subjectAltName=IP:127.0.0.1'], ['client', 'extendedKeyUsage=clientAuth']]) {
    writeFileSync(join(dir, `${name}.ext`), san);
    run(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  }
  const read = (f) => readFileSync(join(dir, f));
  return { ca: read('ca.pem'), server: { cert: read('server.pem'), key: read('server.key') }, client: { cert: read('client.pem'), key: read('client.key') } };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-loop-tls-'));
  pki = makePki();
  [counting, model] = await startAll([startCountingServer({ delayMs: 5 }), startModelStandIn()]);
});

after(async () => {
  await Promise.all([counting?.close(), model?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `server` on a free loopback port; resolves to its origin, its connection count and `close()`. */
async function listen(server, scheme) {
  const seen = { connections: 0 };
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', () => seen.connections++);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `${scheme}://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
}

/** An HTTPS front (certificate from the private CA) for an HTTP server, as an intranet's TLS terminator. */
function tlsFront(upstream, options = {}) {
  const server = https.createServer({ ...pki.server, ...options }, (req, res) => {
    const target = new URL(req.url, upstream);
    const forward = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  return listen(server, 'https');
}

test('keep-alive: a three-round run opens a handful of connections to the MCP server, not one per request', async () => {
  const front = await listen(
    http.createServer((req, res) => {
      const forward = http.request(new URL(req.url, counting.url), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      req.pipe(forward);
    }),
    'http',
  );
  const agent = createAgent({ model: 'gpt-standin', portkey: { baseURL: model.url, authorization: 'Bearer standin' }, servers: { counting: `${front.origin}/mcp` } });
  try {
    const result = await agent.run('Do three rounds of slow lookups.');
    assert.equal(result.status, 'completed');
    assert.equal(result.toolCalls.length, 9);
    // initialize, initialized, tools/list and nine calls (three at a time): at most the three parallel ones
    // (and a spare) need their own connection.
    assert.ok(front.seen.connections <= 4, `${front.seen.connections} connections`);
  } finally {
    await agent.close();
    await front.close();
  }
});

test('a private CA: refused at once (not retried), with an error naming neither host nor port; trusted with servers.<name>.tls.ca', async () => {
  const front = await tlsFront(counting.url);
  const url = `${front.origin}/mcp`;
  try {
    // The default deadline (a minute of retries for errors that may heal): a certificate error must not wait for it.
    const error = await connectMcp({ url, protocol: '2025-11-25' }).then(
      () => null,
      (e) => e,
    );
    assert.equal(error?.code, 'mcp', String(error));
    assert.match(error.message, /certificate is not trusted \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\); for a private CA give it as tls\.ca/);
    assert.doesNotMatch(error.message, /127\.0\.0\.1|:\d{4,5}/);
    assert.doesNotMatch(error.message, /attempts failed/, 'one attempt only');

    const mcp = await connectMcp({ url, protocol: '2025-11-25', tls: { ca: pki.ca } });
    assert.ok((await mcp.listTools()).some((t) => t.name === 'slow-lookup'));
    await mcp.close();
  } finally {
    await front.close();
  }
});

test('a client certificate: an mTLS server refuses a client without one and serves the one with it', async () => {
  const front = await tlsFront(counting.url, { ca: pki.ca, requestCert: true, rejectUnauthorized: true });
  const url = `${front.origin}/mcp`;
  try {
    await assert.rejects(connectMcp({ url, protocol: '2025-11-25', timeoutMs: 1000, tls: { ca: pki.ca } }), (e) => e.code === 'mcp');
    const mcp = await connectMcp({ url, protocol: '2025-11-25', tls: { ca: pki.ca, ...pki.client } });
    assert.ok((await mcp.listTools()).length > 0);
    await mcp.close();
  } finally {
    await front.close();
  }
});

test('portkey.tls: the model endpoint behind the private CA, streamed, next to an MCP server behind it too', async () => {
  const [modelFront, mcpFront] = await startAll([tlsFront(model.url), tlsFront(counting.url)]);
  const agent = createAgent({
    model: 'gpt-standin',
    portkey: { baseURL: `${modelFront.origin}/v1`, authorization: 'Bearer standin', tls: { ca: pki.ca } },
    servers: { counting: { url: `${mcpFront.origin}/mcp`, tls: { ca: pki.ca } } },
  });
  try {
    const result = await agent.run('Do one round of slow lookups.', { stream: true });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.deepEqual(result.toolCalls.map((c) => c.isError), [false, false, false]);
  } finally {
    await agent.close();
    await Promise.all([modelFront.close(), mcpFront.close()]);
  }
});

test('tls options are checked, and refused with a fetch of the application (which has its own TLS settings)', () => {
  assert.throws(() => createAgent({ model: 'm', servers: { s: { url: 'https://x.test/mcp', tls: { cafile: 'x' } } } }), /unknown option servers\.s\.tls\.cafile/);
  assert.throws(() => createAgent({ model: 'm', portkey: { tls: 'x' } }), /portkey\.tls must be an object/);
  assert.throws(
    () => createAgent({ model: 'm', fetch: globalThis.fetch, servers: { s: { url: 'https://x.test/mcp', tls: { ca: 'x' } } } }),
    /servers\.s\.tls needs Node's own HTTP client/,
  );
});

test('redirects as fetch follows them: 307 keeps the POST; another origin gets no Authorization', async () => {
  const seen = [];
  const target = await listen(
    http.createServer((req, res) => {
      seen.push({ method: req.method, authorization: req.headers.authorization ?? null, key: req.headers['x-key'] ?? null });
      const forward = http.request(new URL('/mcp', counting.url), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      req.pipe(forward);
    }),
    'http',
  );
  // 127.0.0.1 and localhost: the same server under two origins.
  const other = target.origin.replace('127.0.0.1', 'localhost');
  const hop = await listen(
    http.createServer((req, res) => res.writeHead(307, { location: `${other}/mcp` }).end()),
    'http',
  );
  try {
    const mcp = await connectMcp({ url: `${hop.origin}/mcp`, protocol: '2025-11-25', headers: { authorization: 'Bearer secret', 'x-key': 'k' } });
    assert.ok((await mcp.listTools()).length > 0);
    await mcp.close();
    assert.ok(seen.length > 0);
    assert.ok(seen.every((r) => r.authorization === null && r.key === 'k'), JSON.stringify(seen));
    assert.ok(seen.some((r) => r.method === 'POST'));
  } finally {
    await Promise.all([hop.close(), target.close()]);
  }
});

test('a compressed answer (gzip) is read as its text', async () => {
  const front = await listen(
    http.createServer((req, res) => {
      const forward = http.request(new URL(req.url, counting.url), { method: req.method, headers: req.headers }, (answer) => {
        const headers = { ...answer.headers, 'content-encoding': 'gzip' };
        delete headers['content-length'];
        res.writeHead(answer.statusCode, headers);
        answer.pipe(zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH })).pipe(res);
      });
      req.pipe(forward);
    }),
    'http',
  );
  try {
    const mcp = await connectMcp({ url: `${front.origin}/mcp`, protocol: '2025-11-25' });
    const result = await mcp.callTool('slow-lookup', { label: 'z1' });
    assert.equal(result.isError ?? false, false);
    await mcp.close();
  } finally {
    await front.close();
  }
});

test('the CLI: a config file names the private CA by file, relative to itself; a file that cannot be read is an input error', async () => {
  const front = await tlsFront(counting.url);
  const cli = (name, server) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ mcpServers: { intranet: { url: `${front.origin}/mcp`, ...server } } }));
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../js/cli.js', import.meta.url)), 'tools', '--json', '--config', file], {
      env: { PATH: process.env.PATH, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (out.stdout += d));
    child.stderr.on('data', (d) => (out.stderr += d));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, ...out })));
  };
  try {
    const trusted = await cli('tls.json', { tls: { ca: 'ca.pem' } });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.ok(JSON.parse(trusted.stdout).servers[0].tools.some((t) => t.name === 'slow-lookup'));

    const untrusted = await cli('plain.json', {});
    assert.equal(untrusted.code, 4, untrusted.stderr);
    assert.match(untrusted.stdout + untrusted.stderr, /certificate is not trusted/);

    const missing = await cli('missing.json', { tls: { ca: 'nope.pem' } });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /server 'intranet': the file of tls\.ca cannot be read \(ENOENT\)/);
  } finally {
    await front.close();
  }
});
