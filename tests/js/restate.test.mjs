// Durable runs on Restate: the real restate-server, two worker processes serving mcp-loop's workflow
// (examples/restate/worker.mjs under Node 22), the counting MCP server (every call counted where it runs) and
// the model stand-in. Runs spread over the workers, survive workers killed at random, and wait for approvals
// while every worker is down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { restateClient } from 'mcp-loop/restate/client';
import { root, startAll } from '../support/procs.mjs';
import { overlap, startCountingServer } from '../support/counting-server.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { startRestate, startWorkers } from '../support/restate.mjs';

let restate, counting, model, client;

before(async () => {
  [restate, counting, model] = await startAll([startRestate(), startCountingServer({ delayMs: 50 }), startModelStandIn()]);
  client = restateClient({ url: restate.ingress });
});

after(async () => {
  await Promise.all([restate?.stop(), counting?.close(), model?.close()]);
});

/** Workers for the counting server; `approve` lists the tools that wait for a person (default: destructive ones). */
async function workers(approve, options, more = {}) {
  const env = { MCP_URL: counting.url, MCP_NAME: 'counting', MODEL_URL: model.url, ...more };
  if (approve) env.APPROVE_TOOLS = approve;
  const started = await startWorkers(env, options);
  await restate.register(started.uri);
  return started;
}

const execFileP = promisify(execFile);
const collect = async (iterable) => {
  const items = [];
  for await (const item of iterable) items.push(item);
  return items;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const labels = (tag, rounds = 2) => Array.from({ length: rounds }, (_, k) => ['a', 'b', 'c'].map((s) => `${tag}-r${k + 1}${s}`)).flat();
const countOf = (calls) => calls.reduce((m, c) => m.set(c.label, (m.get(c.label) ?? 0) + 1), new Map());

async function waitFor(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('50 conversations of three turns with parallel calls over two workers: all complete, every call made exactly once', async () => {
  const pool = await workers();
  try {
    counting.reset();
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => client.start(`Do two rounds of slow lookups tagged c${i}.`, { runId: `load-${i}` })));
    const results = await Promise.all(ids.map((id) => client.result(id)));
    for (const [i, result] of results.entries()) {
      assert.equal(result.status, 'completed', `run ${i}`);
      assert.equal(result.turns, 3, `run ${i}: three model turns`);
      assert.deepEqual(result.toolCalls.map((c) => c.output), labels(`c${i}`).map((l) => `looked up ${l}`));
    }
    const calls = counting.calls();
    // Alone, the calls of a round run at once, not one after another.
    await client.result(await client.start('Do two rounds of slow lookups tagged solo.', { runId: 'load-solo' }));
    for (const round of [1, 2]) {
      const mine = counting.calls().filter((c) => c.label.startsWith(`solo-r${round}`));
      assert.ok(mine.length === 3 && overlap(mine), `round ${round}: ${JSON.stringify(mine)}`);
    }
    assert.equal(calls.length, 300);
    assert.ok([...countOf(calls).values()].every((n) => n === 1), 'no call made twice');
    assert.equal(new Set(calls.map((c) => c.session)).size, 2, 'both workers called the server, each on its one session');
    const events = await client.events(ids[0]);
    assert.equal(events.status, 'done');
    const finished = events.events.filter((e) => e.type === 'toolCallFinished');
    assert.deepEqual(finished.map((e) => e.output), labels('c0').map((l) => `looked up ${l}`));
    assert.ok(finished.every((e) => e.durationMs >= 45), `each call took its 50 ms: ${finished.map((e) => e.durationMs)}`);
    assert.equal((await client.snapshot(ids[0])).format, 'mcp-loop/run');
    assert.doesNotMatch(pool.output(), /awaitNext already pending|ERROR/, 'the handlers keep to what the SDK allows');
  } finally {
    await pool.stop();
  }
});

test('a worker killed with SIGKILL 20 times under load: every run completes, no write made twice, no turn lost', async () => {
  const pool = await workers('-'); // no tool waits for a person
  try {
    counting.reset();
    // Waves of 50 conversations (half writes, half lookups), a new one whenever the last ended before the 20th
    // kill: every kill lands while runs are under way.
    const waves = [];
    let kills = 0;
    while (kills < 20) {
      const w = waves.length;
      const kinds = Array.from({ length: 50 }, (_, i) => (i % 2 ? 'writes' : 'lookups'));
      const ids = await Promise.all(kinds.map((kind, i) => client.start(`Do two rounds of slow ${kind} tagged k${w}-${i}.`, { runId: `kill-${w}-${i}` })));
      const wave = { w, kinds, settled: false };
      wave.done = Promise.all(ids.map((id) => client.result(id))).finally(() => (wave.settled = true));
      waves.push(wave);
      while (kills < 20 && !wave.settled) {
        await sleep(100 + Math.random() * 300);
        // Only while a second process serves, so that runs always have somewhere to go.
        if (!wave.settled && pool.pids().length === 2) kills += Boolean(pool.killOne());
      }
    }
    const outcomes = await Promise.all(waves.map((wave) => wave.done));
    const counts = countOf(counting.calls());
    let [writes, interrupted, ranAnyway] = [0, 0, 0];
    for (const [n, { w, kinds }] of waves.entries()) {
      for (const [i, result] of outcomes[n].entries()) {
        assert.equal(result.status, 'completed', `run ${w}-${i}`);
        assert.equal(result.turns, 3, `run ${w}-${i}: no model turn lost`);
        const expected = labels(`k${w}-${i}`);
        assert.equal(result.toolCalls.length, 6, `run ${w}-${i}: every call has an outcome`);
        for (const [j, call] of result.toolCalls.entries()) {
          const label = expected[j];
          if (kinds[i] === 'lookups') {
            assert.equal(call.output, `looked up ${label}`, 'a lookup is read-only: made again when interrupted');
            continue;
          }
          writes += 1;
          assert.ok((counts.get(label) ?? 0) <= 1, `${label} written ${counts.get(label)} times`);
          if (call.isError) {
            assert.match(call.output, /outcome of this call is unknown/);
            interrupted += 1;
            ranAnyway += counts.get(label) ?? 0;
          } else {
            assert.equal(call.output, `wrote ${label}`);
            assert.equal(counts.get(label), 1);
          }
        }
      }
    }
    console.log(`# ${kills} kills over ${waves.length} wave(s); ${interrupted} of ${writes} writes interrupted (${ranAnyway} of them had run; the model was told), none made twice`);
  } finally {
    await pool.stop();
  }
});

test('an approval waits while every worker is stopped, and completes after decide on restarted workers', async () => {
  let pool = await workers();
  counting.reset();
  const id = await client.start('Do one round of slow writes tagged appr.', { runId: 'approval-1' });
  const status = await waitFor('the pause', async () => {
    const s = await client.status(id);
    return s.status === 'awaiting_approval' && s;
  });
  assert.deepEqual(status.pending.map((c) => c.arguments.label), labels('appr', 1));
  assert.deepEqual((await client.pending(id)).map((c) => c.callId), status.pending.map((c) => c.callId));
  // One call decided now, the others later: the run goes on once every call is decided.
  const [first, ...rest] = status.pending;
  assert.deepEqual(await client.decide(id, { [first.callId]: true }), { decided: 1 });
  assert.deepEqual((await client.pending(id)).map((c) => c.callId), rest.map((c) => c.callId));
  await assert.rejects(client.decide(id, { [first.callId]: false }), /does not wait for a decision \(or is decided already\)/);
  const port = pool.port;
  await pool.stop();
  // Decided while no worker runs: Restate keeps the request until one is back.
  const deciding = client.decide(id, [{ callId: rest[0].callId, approved: false }, { callId: rest[1].callId, approved: true }]);
  await sleep(1000);
  assert.deepEqual(counting.calls(), [], 'nothing written before the decision');
  pool = await startWorkers({ MCP_URL: counting.url, MCP_NAME: 'counting', MODEL_URL: model.url }, { port });
  try {
    assert.deepEqual(await deciding, { decided: 2 });
    const result = await client.result(id);
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.toolCalls.map((c) => c.output), ['wrote appr-r1a', 'Error: rejected by the user: this call was not run', 'wrote appr-r1c']);
    assert.deepEqual(counting.calls().map((c) => c.label).sort(), ['appr-r1a', 'appr-r1c']);
    await assert.rejects(client.decide(id, { x: true }), /call x does not wait for a decision/);
    assert.doesNotMatch(pool.output(), /awaitNext already pending/, 'status, decide and events keep to one context operation at a time');
  } finally {
    await pool.stop();
  }
});

test('the example: node examples/restate/demo.mjs runs three conversations and an approval', async () => {
  const { stdout } = await execFileP(process.execPath, ['examples/restate/demo.mjs'], { cwd: root, timeout: 60_000 });
  assert.match(stdout, /calendar_events \{"person_id":"u-1002"\} waits for a person\. Approve\? \[y\/N\] y \(no terminal\)/);
  assert.equal(stdout.match(/\(completed, \d turns, \d tool calls\)/g)?.length, 3, stdout);
  assert.match(stdout, /COBOL steering group/, 'the approved calendar read ran');
});

test('cancel stops a run mid-call (the server is told) and it ends cancelled; a run without input fails', async () => {
  const pool = await workers();
  try {
    counting.reset();
    const id = await client.start('Wait forever, please.', { runId: 'cancel-1' });
    await waitFor('the call', () => counting.calls().length === 1);
    assert.equal(await client.cancel(id, 'the user gave up'), true);
    assert.equal(await client.cancel(id, 'again'), false, 'cancelled already');
    const result = await client.result(id);
    assert.equal(result.status, 'cancelled');
    assert.equal(result.reason, 'the user gave up');
    await waitFor('the cancellation at the server', () => counting.calls()[0].cancelled);
    assert.equal((await client.status(id)).status, 'cancelled');

    // Bad requests end at once (never retried by Restate).
    await assert.rejects(client.result(await client.start(null, { runId: 'bad-1' })), (e) => e.code === 'config' && /the run needs an input/.test(e.message));
    assert.equal((await client.status('bad-1')).status, 'failed', 'a follower sees the end');
    assert.deepEqual([...(await collect(client.follow('bad-1')))], []);
    await assert.rejects(client.result(await client.start('hi', { runId: 'bad-2', history: 'no' })), /history must be a list/);
    await assert.rejects(client.events(id, { after: -1 }), /after must be a position/);
  } finally {
    await pool.stop();
  }
});

test('runTimeoutMs is a durable deadline: a run past it ends cancelled and its call is cancelled at the server', async () => {
  const pool = await workers(undefined, undefined, { RUN_TIMEOUT_MS: '1500' });
  try {
    counting.reset();
    const id = await client.start('Wait forever, please.', { runId: 'deadline-1' });
    const result = await client.result(id);
    assert.equal(result.status, 'cancelled');
    assert.equal(result.reason, 'the run took longer than runTimeoutMs (1500 ms)');
    await waitFor('the cancellation at the server', () => counting.calls()[0]?.cancelled);
  } finally {
    await pool.stop();
  }
});

test('a run continues an earlier run’s conversation from its history', async () => {
  const pool = await workers();
  try {
    const first = await client.result(await client.start('Do one round of slow lookups tagged h1.', { runId: 'history-1' }));
    assert.ok(first.history?.length > 1, 'the first run kept its conversation');
    const id = await client.start('Do one round of slow lookups tagged h2.', { runId: 'history-2', history: first.history });
    const second = await client.result(id);
    assert.equal(second.status, 'completed');
    // Its first model request starts with the earlier conversation, then the new input.
    const opening = model.requests.map((r) => JSON.stringify(JSON.parse(r.body).input)).find((input) => input.includes('tagged h2'));
    assert.ok(opening.indexOf('tagged h1') >= 0 && opening.indexOf('tagged h1') < opening.indexOf('tagged h2'), opening);
  } finally {
    await pool.stop();
  }
});

test('on Node before 22 the workflow refuses at once, saying what it needs (the SDK would fail every run)', { skip: typeof Promise.withResolvers === 'function' && 'this Node has what the SDK needs' }, async () => {
  const { restateWorkflow } = await import('mcp-loop/restate');
  assert.throws(() => restateWorkflow({ model: 'gpt-standin' }), (e) => e.code === 'config' && /needs Node 22 or later/.test(e.message));
});
