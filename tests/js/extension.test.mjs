// The example MV3 extension (examples/extension), copied out of the repository with the `npm pack`ed package
// installed, built by its build.mjs (esbuild) and loaded unpacked into headless Chromium, used through its own pages: settings entered in the options page, questions asked and
// approvals decided in the side panel (opened as a tab). The module service worker runs the agent against
// server-everything and the counting MCP server, the model stand-in behind the Portkey gateway; no CORS is
// involved (host_permissions). Chrome stopping the worker is done with the DevTools protocol.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { root, startAll, startEverything, startGateway } from '../support/procs.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/browser.mjs';
import { installPacked } from '../support/packed.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { startCountingServer } from '../support/counting-server.mjs';
import { startTinyOAuth } from '../support/tiny-oauth.mjs';

let everything, counting, gateway, model, slowModel, dir, context, base;

before(async () => {
  assert.ok(CHROMIUM, 'Chromium is installed (scripts/setup.sh --test installs it)');
  [everything, counting, gateway, model, slowModel] = await startAll([
    startEverything('streamableHttp'),
    startCountingServer({ delayMs: 200 }),
    startGateway(),
    startModelStandIn(),
    startModelStandIn({ delayMs: 1500 }),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'mcp-loop-extension-'));
  const app = await installPacked({ source: join(root, 'examples/extension'), dir, where: join(dir, 'app'), extra: [join(root, 'node_modules/esbuild')] });
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: app, stdio: 'pipe' });
  const built = join(app, 'dist');
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, `--disable-extensions-except=${built}`, `--load-extension=${built}`],
  });
  // A registration error (a module the worker refuses) means no worker ever starts.
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
  base = `chrome-extension://${new URL(worker.url()).host}`;
});

/** Pids of the processes started with `dir` on their command line: the browser of the persistent context, which
 * playwright does not tell. */
function browserPids() {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    });
}

after(async () => {
  const pids = dir ? browserPids() : [];
  await context?.close();
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {}
  }
  await Promise.all([everything?.stop(), counting?.close(), gateway?.stop(), model?.close(), slowModel?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Enters the settings in the options page, as a user would. */
async function configure({ servers, modelUrl, approve = 'never' }) {
  const page = await context.newPage();
  await page.goto(`${base}/options.html`);
  await page.fill('[name=model]', 'gpt-standin');
  const portkey = { baseURL: gateway.url, provider: 'openai', customHost: modelUrl, authorization: 'Bearer standin' };
  await page.fill('[name=portkey]', JSON.stringify(portkey));
  await page.fill('[name=servers]', JSON.stringify(servers));
  await page.selectOption('[name=approve]', approve);
  await page.click('button');
  await page.waitForSelector('#status:text("Saved")');
  await page.close();
}

/** The side panel's page, in a tab, with a question asked. Returns the page and the run's element. */
async function ask(question) {
  const panel = await context.newPage();
  await panel.goto(`${base}/panel.html`);
  const before = await panel.locator('.run').count();
  await panel.fill('#question', question);
  await panel.click('#ask button');
  const run = panel.locator('.run').nth(before);
  await run.waitFor();
  return { panel, run };
}

/** Stops the extension's service worker as Chrome does when it is idle, and waits until it has stopped
 * (told by the DevTools protocol: Playwright reports a worker's end only much later). */
async function stopWorker(page) {
  const cdp = await context.newCDPSession(page);
  const stopped = new Promise((resolve, reject) => {
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
      if (versions.some((v) => v.scriptURL.startsWith(base) && v.runningStatus === 'stopped')) resolve();
    });
    setTimeout(() => reject(new Error('the worker did not stop within 10 s')), 10_000);
  });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await stopped;
  await cdp.detach();
}

const labels = (calls, tool) => calls.filter((c) => c.tool === tool).map((c) => c.label).sort();

test('the extension loads; its service worker runs the agent and the side panel shows the answer', async () => {
  await configure({ servers: { everything: { url: everything.url } }, modelUrl: model.url });
  const { panel, run } = await ask('What is 2 + 3?');
  await run.locator('.answer, .error').waitFor({ timeout: 30_000 });
  assert.equal(await run.getAttribute('data-status'), 'completed', await run.textContent());
  assert.match(await run.locator('.answer').textContent(), /The sum of 2 and 3 is 5\./);
  assert.deepEqual(await run.locator('.call').allTextContents(), ['everything · get-sum: done']);
  await panel.close();
});

test('a worker stopped mid-run starts again and finishes the run from its snapshot, every call made once', async () => {
  counting.reset();
  await configure({ servers: { counting: { url: counting.url } }, modelUrl: slowModel.url });
  const { panel, run } = await ask('Do two rounds of slow lookups.');
  // The first round's calls have answered and the model is writing the second turn (1.5 s): stop the worker.
  const firstRound = () => counting.calls().filter((c) => c.endMs).length === 3 && slowModel.requests.length >= 2;
  for (const deadline = Date.now() + 30_000; !firstRound(); ) {
    assert.ok(Date.now() < deadline, `the first round never ended: ${await run.textContent()} ${JSON.stringify(counting.calls())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const sent = slowModel.requests.length;
  await stopWorker(panel);
  assert.equal(await run.getAttribute('data-status'), 'running');
  // Opening the side panel again wakes the worker (as its alarm would, within 30 s), which resumes the run.
  await panel.reload();
  const resumed = panel.locator(`.run[data-id="${await run.getAttribute('data-id')}"]`);
  await resumed.locator('.answer').waitFor({ timeout: 30_000 });
  assert.equal(await resumed.getAttribute('data-status'), 'completed', await resumed.textContent());
  assert.ok(slowModel.requests.length > sent, 'the model request the stopped worker lost was sent again');
  assert.deepEqual(labels(counting.calls(), 'slow-lookup'), ['r1a', 'r1b', 'r1c', 'r2a', 'r2b', 'r2c'], 'each call made once');
  assert.match(await resumed.locator('.answer').textContent(), /looked up r2c/);
  await panel.close();
});

test('an approval asked for in the worker is decided in the side panel after a worker restart; the run completes', async () => {
  counting.reset();
  await configure({ servers: { counting: { url: counting.url } }, modelUrl: model.url, approve: 'destructive' });
  const { panel, run } = await ask('Do one round of slow writes.');
  await run.locator('.approval').nth(2).waitFor({ timeout: 30_000 });
  assert.equal(await run.getAttribute('data-status'), 'awaiting_approval');
  await stopWorker(panel);
  assert.deepEqual(counting.calls(), [], 'nothing written before the decision');
  for (let i = 0; i < 3; i++) await run.locator('.approval button.approve').first().click();
  await run.locator('.answer').waitFor({ timeout: 30_000 });
  assert.equal(await run.getAttribute('data-status'), 'completed', await run.textContent());
  assert.deepEqual(labels(counting.calls(), 'slow-write'), ['r1a', 'r1b', 'r1c'], 'each approved write made once');
  assert.match(await run.locator('.answer').textContent(), /wrote r1c/);
  await panel.close();
});

test("a server behind a sign-in: Chrome's launchWebAuthFlow signs the person in, the tokens stay in the extension", async () => {
  const tiny = await startTinyOAuth();
  try {
    await configure({ servers: { guarded: { url: tiny.url, protocol: '2025-11-25', auth: {} } }, modelUrl: model.url });
    const { panel, run } = await ask('Say hello.');
    await run.locator('.answer, .error').waitFor({ timeout: 30_000 });
    assert.equal(await run.getAttribute('data-status'), 'completed', await run.textContent());
    assert.equal(tiny.stats.authorizations, 1, 'one sign-in');
    // The next run starts signed in: the token was kept in chrome.storage.
    await panel.fill('#question', 'Say hello again.');
    await panel.click('#ask button');
    const again = panel.locator('.run').last();
    await again.locator('.answer, .error').waitFor({ timeout: 30_000 });
    assert.equal(await again.getAttribute('data-status'), 'completed', await again.textContent());
    assert.equal(tiny.stats.authorizations, 1, 'no second sign-in');
    await panel.close();
  } finally {
    await tiny.close();
  }
});
