// Headless Chromium and a test web site for the browser tests: the browser started once by playwright-core and
// stopped by its pid; a static file server for a directory that also proxies /portkey/v1/* to the Portkey
// gateway (a page reaches the model through its own origin, as a web app keeps its provider key on its backend).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { Readable } from 'node:stream';
import { chromium } from 'playwright-core';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/**
 * Starts headless Chromium (playwright gives every launch a fresh, empty profile directory of its own). Resolves
 * to `{ wsEndpoint, connect(), close() }`; `close()` also kills the browser by its pid.
 */
export async function launchBrowser() {
  if (!CHROMIUM) throw new Error('Chromium is not installed (scripts/setup.sh --test installs it)');
  const server = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const pid = server.process()?.pid;
  return {
    wsEndpoint: server.wsEndpoint(),
    connect: () => chromium.connect(server.wsEndpoint()),
    async close() {
      await server.close();
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    },
  };
}

/** Sends /portkey/v1/* on to the gateway (`gateway` ends in /v1), passing the answer on as it arrives (streams stream). */
async function proxyToGateway(req, res, gateway, path) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const headers = { ...req.headers };
  delete headers.host;
  delete headers.origin;
  const upstream = await fetch(gateway + path.slice('/portkey/v1'.length), {
    method: req.method,
    headers,
    body: chunks.length ? Buffer.concat(chunks) : undefined,
  });
  res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
  if (upstream.body) Readable.fromWeb(upstream.body).pipe(res);
  else res.end();
}

/**
 * Serves the files under `dir` on 127.0.0.1 (a free port): only paths under one of `allow` (directories relative
 * to `dir`; all by default), `/` as `index`, a directory as its index.html. `/portkey/v1/*` goes to `gateway`
 * when given. An HTML page may ask for the Content Security Policy it is served with (`?csp=`). Resolves to
 * `{ url, served, close() }`; `served` lists every file request as `{ path, status }`.
 */
export function startSite({ dir, gateway, allow = [''], index = '/index.html' }) {
  const roots = allow.map((a) => join(dir, a));
  const served = [];
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      if (gateway && url.pathname.startsWith('/portkey/v1/')) return await proxyToGateway(req, res, gateway, url.pathname);
      let file = normalize(join(dir, decodeURIComponent(url.pathname === '/' ? index : url.pathname)));
      if (existsSync(file) && (await stat(file)).isDirectory()) file = join(file, 'index.html');
      const allowed = roots.some((r) => file === r || file.startsWith(r.endsWith(sep) ? r : r + sep));
      served.push({ path: url.pathname, status: allowed && existsSync(file) ? 200 : 404 });
      if (!allowed || !existsSync(file)) return res.writeHead(404).end();
      const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' };
      if (file.endsWith('.html') && url.searchParams.has('csp')) headers['content-security-policy'] = url.searchParams.get('csp');
      res.writeHead(200, headers).end(await readFile(file));
    } catch (error) {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error?.message ?? error));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${server.address().port}`, served, close: () => new Promise((r) => server.close(r)) }),
    ),
  );
}

/**
 * Opens `url` in a new page of `browser`, waits for the page's `window.__result` and resolves to it, with
 * `errors`: the page's uncaught errors (a worker's error reaches the page as its `error` event, not here).
 */
export async function resultOf(browser, url, { timeout = 30_000 } = {}) {
  const page = await browser.newPage();
  const errors = [];
  const logged = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => logged.push(`${m.type()}: ${m.text()}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.__result, null, { timeout }).catch((error) => {
      const why = error.message.split('\n')[0];
      throw new Error(`${url} set no window.__result (${why}); page errors: ${JSON.stringify(errors)}; console: ${JSON.stringify(logged)}`);
    });
    return { ...(await page.evaluate(() => window.__result)), errors };
  } finally {
    await page.close();
  }
}
