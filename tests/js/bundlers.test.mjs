// The package as a web app gets it: `npm pack`ed, installed into a copy of a tiny app (tests/bundlers/app) that
// imports `mcp-loop` by its name, built with Vite, webpack 5, Rollup and esbuild (and served as it is, with an
// import map, for no bundler; and under Vite's dev server), then run in headless Chromium: a page that runs the
// agent, and a page whose module Web Worker runs it (the ready handshake). The agent talks to server-everything
// (Streamable HTTP, CORS) and to the model stand-in through the Portkey gateway, which the test site proxies at
// /portkey/v1. The settings each build uses here are the ones the README table gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { importMetaAssets } from '@web/rollup-plugin-import-meta-assets';
import { build as vite, createServer as viteServer } from 'vite';
import webpack from 'webpack';
import { root, startAll, startEverything, startGateway } from '../support/procs.mjs';
import { installPacked } from '../support/packed.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { launchBrowser, resultOf, startSite } from '../support/browser.mjs';

const SOURCE = join(root, 'tests/bundlers/app');

let everything, gateway, model, chromium, browser, dir, app;

/** `npm pack` of the repository, installed into a copy of the app in a temporary directory: the app's only dependency. */
async function installApp() {
  dir = await mkdtemp(join(tmpdir(), 'mcp-loop-bundlers-'));
  return installPacked({ source: SOURCE, dir, where: join(dir, 'app') });
}

/** Copies the two pages next to the bundles (for the bundlers that build scripts only). */
async function withPages(out) {
  for (const page of ['index.html', 'worker.html']) await cp(join(app, page), join(out, page));
  return out;
}

// Each builds the app into `out`: index.html runs the agent in the page, worker.html in a module Web Worker.
const BUILDS = {
  // The app as it is, with app/no-bundler/'s files in place of their namesakes: an import map on the page, the
  // worker importing pkg/browser.js by its path.
  async 'no bundler'(out) {
    await cp(app, out, { recursive: true });
    await cp(join(app, 'no-bundler'), out, { recursive: true });
    return out;
  },
  // No settings: Vite emits the wasm of `new URL('…', import.meta.url)` and bundles `new Worker(new URL(…))`.
  // (The two inputs only because the app has two pages.)
  async Vite(out) {
    await vite({
      root: app,
      configFile: false,
      logLevel: 'error',
      build: {
        outDir: out,
        emptyOutDir: true,
        rolldownOptions: { input: { index: join(app, 'index.html'), worker: join(app, 'worker.html') } },
      },
    });
    return out;
  },
  // No settings either: webpack 5 emits `new URL('…', import.meta.url)` assets and bundles the worker.
  async 'webpack 5'(out) {
    const entry = { main: './main.js', 'worker-page': './worker-page.js' };
    const compiler = webpack({ mode: 'production', context: app, entry, output: { path: out } });
    const stats = await new Promise((resolve, reject) => compiler.run((error, result) => (error ? reject(error) : resolve(result))));
    await new Promise((resolve) => compiler.close(resolve));
    assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
    return withPages(out);
  },
  // node-resolve to find the package, import-meta-assets to emit its wasm (kept to the package: the app's own
  // `new URL('./worker.js', …)` is the worker entry, not an asset). The worker is one more input.
  async Rollup(out) {
    const bundle = await rollup({
      input: { main: join(app, 'main.js'), 'worker-page': join(app, 'worker-page.js'), worker: join(app, 'worker.js') },
      plugins: [nodeResolve(), importMetaAssets({ include: '**/node_modules/mcp-loop/**' })],
    });
    await bundle.write({ dir: out, format: 'es' });
    await bundle.close();
    return withPages(out);
  },
  // esbuild leaves `new URL('…', import.meta.url)` alone: its `file` loader gives the app the wasm's URL (app/esbuild/
  // imports `mcp-loop/mcp_loop_bg.wasm` and passes it to init()); the worker is one more entry point.
  async esbuild(out) {
    const result = await esbuild.build({
      absWorkingDir: app,
      entryPoints: [
        { in: 'esbuild/main.js', out: 'main' },
        { in: 'worker-page.js', out: 'worker-page' },
        { in: 'esbuild/worker.js', out: 'worker' },
      ],
      bundle: true,
      format: 'esm',
      outdir: out,
      loader: { '.wasm': 'file' },
      logLevel: 'silent',
    });
    await esbuild.stop();
    assert.deepEqual(result.warnings, []);
    return withPages(out);
  },
};

before(async () => {
  [everything, gateway, model, chromium, app] = await startAll([
    startEverything('streamableHttp'),
    startGateway(),
    startModelStandIn(),
    launchBrowser(),
    installApp(),
  ]);
  browser = await chromium.connect();
});

after(async () => {
  await browser?.close();
  await chromium?.close();
  await Promise.all([everything?.stop(), gateway?.stop(), model?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Asserts a page's outcome: get-sum called in turn 1, its sum in the answer, no page error. */
function assertAnswered(outcome, what) {
  assert.deepEqual(outcome.errors, [], `${what}: no page error`);
  assert.ok(outcome.ok, `${what}: ${JSON.stringify(outcome.error)}`);
  const { result } = outcome;
  assert.equal(result.status, 'completed', what);
  assert.deepEqual(result.toolCalls.map((c) => [c.tool, c.turn]), [['get-sum', 1]], what);
  assert.match(result.outputText, /The sum of 2 and 3 is 5\./, what);
}

/** Opens the page and the worker page at `base` and asserts that each answered. */
async function assertBothAnswer(base) {
  const query = new URLSearchParams({ mcp: everything.url, model: model.url, q: 'What is 2 + 3?' });
  assertAnswered(await resultOf(browser, `${base}/index.html?${query}`), 'the page');
  const worker = await resultOf(browser, `${base}/worker.html?${query}`);
  assert.equal(worker.type, 'answer', JSON.stringify(worker));
  assertAnswered(worker, 'the worker');
}

for (const [name, build] of Object.entries(BUILDS)) {
  test(`${name}: a page and a module Web Worker each run the agent end to end`, async () => {
    const out = await build(join(dir, 'out', name.replace(/\W+/g, '-')));
    const wasm = (await readdir(out, { recursive: true })).filter((f) => f.endsWith('.wasm'));
    assert.ok(wasm.length > 0, `the build holds the wasm: ${wasm}`);
    const site = await startSite({ dir: out, gateway: gateway.url });
    try {
      await assertBothAnswer(site.url);
      const fetched = site.served.filter((s) => s.path.endsWith('.wasm'));
      assert.ok(fetched.length >= 1, 'the core was fetched from the site');
      assert.deepEqual(fetched.filter((s) => s.status !== 200), [], 'every wasm request found its file');
    } finally {
      await site.close();
    }
  });
}

test("Vite's dev server, with no settings but its proxy to the gateway: the page and the worker run the agent", async () => {
  const server = await viteServer({
    root: app,
    configFile: false,
    logLevel: 'error',
    server: {
      host: '127.0.0.1',
      port: 0,
      proxy: { '/portkey/v1': { target: new URL(gateway.url).origin, rewrite: (path) => path.slice('/portkey'.length) } },
    },
  });
  try {
    await server.listen();
    await assertBothAnswer(server.resolvedUrls.local[0].replace(/\/$/, ''));
  } finally {
    await server.close();
  }
});
