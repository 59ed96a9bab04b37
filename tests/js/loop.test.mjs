// The complete tool loop in Node, through the real Portkey gateway to the model stand-in, against an MCP server
// (official SDK) whose tools take a while and that records when each call starts and ends: streaming, parallel
// calls, snapshots restored in fresh processes (Node and native), replay with reasoning items, approvals that
// cross hosts, and cancellation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAgent } from 'mcp-loop';
import { root, startAll, startGateway } from '../support/procs.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';
import { overlap, startCountingServer } from '../support/counting-server.mjs';

const NATIVE = join(resolve(root, process.env.CARGO_TARGET_DIR ?? 'target'), 'debug/examples/resume');
const ROUNDS = 'Do three rounds of slow lookups.';
const LABELS = ['r1a', 'r1b', 'r1c', 'r2a', 'r2b', 'r2c', 'r3a', 'r3b', 'r3c'];

let gateway, model, noStore, counting;

before(async () => {
  [gateway, model, noStore, counting] = await startAll([
    startGateway(),
    startModelStandIn(),
    startModelStandIn({ noStore: true }),
    startCountingServer({ delayMs: 150 }),
  ]);
});

after(async () => {
  await Promise.all([gateway?.stop(), model?.close(), noStore?.close(), counting?.close()]);
});

/** Agent options in the core's JSON form, which both hosts read (see tests/support/run-agent.mjs). */
const coreConfig = (extra = {}, upstream = model) => ({
  model: 'gpt-standin',
  portkey: { baseURL: gateway.url, provider: 'openai', customHost: upstream.url, authorization: 'Bearer standin' },
  servers: [{ name: 'counting', url: counting.url }],
  ...extra,
});

const agentFor = (extra, upstream) => {
  const { servers, ...rest } = coreConfig(extra, upstream);
  return createAgent({ ...rest, servers: Object.fromEntries(servers.map(({ name, ...s }) => [name, s])) });
};

/** What must be equal between two runs of the same conversation (call ids and timings differ). */
const essence = (r) => ({
  status: r.status,
  outputText: r.outputText,
  turns: r.turns,
  toolCalls: r.toolCalls.map((c) => [c.turn, c.tool, c.arguments, c.output, c.isError]),
});

/** Runs a job in a fresh process: `node` (tests/support/run-agent.mjs) or `native` (examples/resume.rs). */
function fresh(host, job) {
  const [command, args] = host === 'node' ? [process.execPath, [join(root, 'tests/support/run-agent.mjs')]] : [NATIVE, []];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${host} run timed out: ${err}`));
    }, 60_000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`${host} printed no result: ${out} ${err}`));
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}

/** The labels of the calls a snapshot has recorded results for. */
function recorded(snapshot) {
  const { records, phase } = snapshot.state;
  const done = phase.phase === 'tools' ? phase.calls.filter((c) => c.state === 'done') : [];
  return [...records, ...done].map((c) => c.arguments.label);
}

test('three rounds of three calls, streamed: the same result as not streamed, and the calls of a round overlap', async () => {
  const agent = agentFor();
  counting.reset();
  const plain = await agent.run(ROUNDS);
  assert.equal(plain.status, 'completed');
  assert.equal(plain.turns, 4);
  assert.deepEqual(plain.toolCalls.map((c) => c.arguments.label), LABELS);
  for (const round of ['r1', 'r2', 'r3']) {
    const calls = counting.calls().filter((c) => c.label.startsWith(round));
    assert.equal(calls.length, 3);
    assert.ok(overlap(calls), `the calls of ${round} run at the same time: ${JSON.stringify(calls)}`);
  }

  const events = [];
  for await (const event of agent.stream(ROUNDS)) events.push(event);
  const last = events.at(-1);
  assert.equal(last.type, 'runCompleted');
  assert.deepEqual(essence(last.result), essence(plain));
  const types = new Set(events.map((e) => e.type));
  for (const type of ['runStarted', 'turnStarted', 'textDelta', 'toolCallStarted', 'toolCallFinished', 'turnCompleted']) {
    assert.ok(types.has(type), `a ${type} event`);
  }
  const finished = events.filter((e) => e.type === 'toolCallFinished');
  assert.ok(finished.every((e) => e.server === 'counting' && e.tool === 'slow-lookup' && e.durationMs >= 100), JSON.stringify(finished[0]));
  const text = events.filter((e) => e.type === 'textDelta' && e.turn === 4).map((e) => e.delta).join('');
  assert.equal(text, plain.outputText, 'the deltas make the answer');
  const requests = model.requests.slice(-4).map((r) => JSON.parse(r.body));
  assert.ok(requests.every((r) => r.stream === true), 'streamed requests');
  const spans = model.requests.slice(-4).map((r) => r.headers['x-portkey-span-id']);
  assert.deepEqual(spans, [undefined, undefined, undefined, undefined], 'the gateway keeps tracing headers to itself');
  assert.equal(last.result.turnDetails.length, 4);
  assert.equal(last.result.turnDetails[0].headers['x-portkey-provider'], 'openai', 'Portkey response headers, per turn');
  await agent.close();
});

test('a snapshot after every step, each finished in a fresh Node or native process: one result, every call once', async () => {
  assert.ok(existsSync(NATIVE), 'the native resumer is built (scripts/test.sh builds it)');
  const agent = agentFor();
  const snapshots = [];
  const original = await agent.run(ROUNDS, { onSnapshot: (s) => snapshots.push(s) });
  await agent.close();
  assert.equal(snapshots.length, 12, 'three rounds of one model step and three tool steps');
  assert.ok(snapshots.every((s) => s.format === 'mcp-loop/run' && s.version === 1 && s.traceId));
  for (const [i, snapshot] of snapshots.entries()) {
    const host = i % 2 ? 'native' : 'node';
    counting.reset();
    const result = await fresh(host, { config: coreConfig(), snapshot });
    assert.equal(result.error, undefined, `${host} restoring snapshot ${i}: ${result.error}`);
    assert.deepEqual(essence(result), essence(original), `${host} finishing snapshot ${i}`);
    const rerun = counting.calls().map((c) => c.label);
    const kept = recorded(snapshot);
    assert.deepEqual([...kept, ...rerun].sort(), LABELS, `snapshot ${i}: recorded ${kept}, run again ${rerun}`);
  }
});

test('an in-flight call that is not idempotent is not run again: the model is told its outcome is unknown', async () => {
  const agent = agentFor();
  let snapshot;
  await agent.run('Do one round of slow writes.', { onSnapshot: (s) => (snapshot ??= s) });
  await agent.close();
  counting.reset();
  const result = await fresh('native', { config: coreConfig(), snapshot });
  assert.equal(result.status, 'completed');
  assert.deepEqual(counting.calls(), [], 'nothing is written twice');
  assert.ok(result.toolCalls.every((c) => c.isError && /outcome of this call is unknown/.test(c.output)), JSON.stringify(result.toolCalls));
});

test('replay through the gateway: no previous_response_id, store false, reasoning items back in order', async () => {
  const agent = agentFor({ continuation: 'replay' });
  const seen = model.requests.length;
  const result = await agent.run('Think, then do two rounds of slow lookups.');
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.equal(result.turns, 3);
  const sent = model.requests.slice(seen).map((r) => JSON.parse(r.body));
  assert.equal(sent.length, 3);
  for (const request of sent) {
    assert.equal(request.previous_response_id, undefined);
    assert.equal(request.store, false);
    assert.ok(request.include.includes('reasoning.encrypted_content'));
  }
  // The last request carries the whole conversation: each turn's reasoning item right before its calls.
  const kinds = sent[2].input.map((i) => i.type ?? 'message');
  assert.deepEqual(kinds, [
    'message',
    'reasoning',
    ...Array(3).fill('function_call'),
    ...Array(3).fill('function_call_output'),
    'reasoning',
    ...Array(3).fill('function_call'),
    ...Array(3).fill('function_call_output'),
  ]);
  assert.ok(sent[2].input.filter((i) => i.type === 'reasoning').every((r) => r.encrypted_content));
  await agent.close();
});

test('auto continuation switches to replay when the provider keeps no responses; unknown items replay untouched', async () => {
  const agent = agentFor({}, noStore);
  const warnings = [];
  const seen = noStore.requests.length;
  const result = await agent.run('Think, then do one round of slow lookups; unknown item.', { onEvent: (e) => e.type === 'warning' && warnings.push(e.message) });
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.equal(result.turns, 2);
  assert.match(warnings.join('\n'), /replaying the history/);
  const sent = noStore.requests.slice(seen).map((r) => JSON.parse(r.body));
  assert.equal(sent.length, 3, 'turn 1, turn 2 refused, turn 2 replayed');
  assert.match(sent[1].previous_response_id ?? '', /^resp_/, 'auto tries the stored response first');
  assert.equal(sent[2].previous_response_id, undefined);
  assert.ok(sent[2].input.some((i) => i.type === 'web_search_call'), 'the item mcp-loop does not know went back as it came');
  assert.ok(sent[0].include?.includes('reasoning.encrypted_content'), 'auto asks for what a replay would need from the start');
  assert.ok(sent[2].input.some((i) => i.type === 'reasoning' && i.encrypted_content), 'so the switch can replay reasoning');
  await agent.close();
});

test('an approval pause in Node is resumed by native Rust, and a native pause by Node', async () => {
  const job = { config: coreConfig({ approve: 'destructive' }), input: 'Do one round of slow writes.' };
  const agent = agentFor({ approve: 'destructive' });
  counting.reset();
  const paused = await agent.run(job.input);
  assert.equal(paused.status, 'awaiting_approval');
  assert.deepEqual(paused.pending.map((p) => [p.tool, p.arguments.label, p.annotations.destructiveHint]), [
    ['slow-write', 'r1a', true],
    ['slow-write', 'r1b', true],
    ['slow-write', 'r1c', true],
  ]);
  assert.deepEqual(counting.calls(), [], 'nothing ran before the decision');
  const decisions = paused.pending.map((p) => ({ callId: p.callId, approved: p.arguments.label !== 'r1b' }));
  const resumed = await fresh('native', { config: job.config, snapshot: paused.snapshot, decisions });
  assert.equal(resumed.status, 'completed', JSON.stringify(resumed));
  assert.deepEqual(counting.calls().map((c) => c.label).sort(), ['r1a', 'r1c']);
  assert.match(resumed.toolCalls[1].output, /rejected by the user/);

  counting.reset();
  const nativePause = await fresh('native', job);
  assert.equal(nativePause.status, 'awaiting_approval');
  const approveAll = Object.fromEntries(nativePause.pending.map((p) => [p.callId, true]));
  const finished = await agent.resume(nativePause.snapshot, approveAll);
  assert.equal(finished.status, 'completed');
  assert.equal(finished.traceId, nativePause.traceId, 'the resumed run stays in its trace');
  assert.deepEqual(counting.calls().map((c) => c.label).sort(), ['r1a', 'r1b', 'r1c']);
  await agent.close();
});

test('an approval function decides per call; the calls it waves through run without a pause', async () => {
  const asked = [];
  const agent = agentFor({ approve: (call) => (asked.push(call.arguments.label), call.arguments.label === 'r1b') });
  counting.reset();
  const paused = await agent.run('Do one round of slow writes.');
  assert.equal(paused.status, 'awaiting_approval');
  assert.deepEqual(paused.pending.map((p) => p.arguments.label), ['r1b']);
  assert.deepEqual(counting.calls().map((c) => c.label).sort(), ['r1a', 'r1c'], 'the others ran');
  const done = await agent.resume(paused.snapshot, { [paused.pending[0].callId]: { approved: false, reason: 'not this one' } });
  assert.equal(done.status, 'completed');
  assert.match(done.toolCalls.find((c) => c.arguments.label === 'r1b').output, /rejected by the user.*not this one/);
  await agent.close();
});

test('cancelling mid-call: the server gets notifications/cancelled and the run ends cancelled', async () => {
  const agent = agentFor();
  counting.reset();
  const stop = new AbortController();
  const result = await agent.run('Wait forever, please.', {
    signal: stop.signal,
    onEvent: (e) => e.type === 'toolCallStarted' && setTimeout(() => stop.abort(new Error('the user pressed stop')), 50),
  });
  assert.equal(result.status, 'cancelled');
  assert.equal(result.reason, 'the user pressed stop');
  await counting.firstCancelled();
  const [call] = counting.calls();
  assert.equal(call.tool, 'wait-forever');
  assert.equal(call.cancelled, true, 'the server was told');
  await agent.close();
});

test('an onSnapshot that returns a promise holds back the calls it records until it has stored them', async () => {
  const agent = agentFor();
  counting.reset();
  const stored = [];
  const result = await agent.run('Do one round of slow lookups.', {
    onSnapshot: async (snapshot) => {
      await new Promise((r) => setTimeout(r, 150));
      stored.push({ at: Date.now(), snapshot });
    },
  });
  assert.equal(result.status, 'completed');
  const first = stored[0];
  const running = first.snapshot.state.phase.calls.filter((c) => c.state === 'running').map((c) => c.arguments.label);
  assert.deepEqual(running, ['r1a', 'r1b', 'r1c'], 'the first snapshot records the round as in flight');
  for (const call of counting.calls()) assert.ok(call.startMs >= first.at, `${call.label} started after its snapshot was stored`);
  await agent.close();
});

test('onSnapshot that fails or is cancelled under: a warning, never a crash, and held calls never go out after a cancel', async () => {
  const agent = agentFor();
  const warnings = [];
  const failing = await agent.run('Do one round of slow lookups.', {
    onSnapshot: () => Promise.reject(new Error('the store is down')),
    onEvent: (e) => e.type === 'warning' && warnings.push(e.message),
  });
  assert.equal(failing.status, 'completed');
  assert.match(warnings.join('\n'), /onSnapshot failed: the store is down/);

  counting.reset();
  const stop = new AbortController();
  const slow = await agent.run('Do one round of slow writes.', {
    signal: stop.signal,
    onSnapshot: () => {
      setTimeout(() => stop.abort(new Error('stop')), 20);
      return new Promise((r) => setTimeout(r, 200));
    },
  });
  assert.equal(slow.status, 'cancelled');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(counting.calls(), [], 'the held calls were dropped, not sent late');
  await agent.close();
});
