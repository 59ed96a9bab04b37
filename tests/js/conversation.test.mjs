// Conversations that go on across runs: `previousResponseId` (the provider keeps the conversation) and `history`
// (the earlier result's items, sent again), in each continuation mode, against server-everything and the model
// stand-in behind the Portkey gateway. The stand-in checks the chaining as the Responses API does: a
// `previous_response_id` it never stored is refused, and a replayed history must hold every call's output and
// the reasoning items it issued.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createAgent } from 'mcp-loop';
import { startAll, startEverything, startGateway } from '../support/procs.mjs';
import { startModelStandIn } from '../support/model-standin.mjs';

let everything, gateway, model, noStore;

before(async () => {
  [everything, gateway, model, noStore] = await startAll([
    startEverything('streamableHttp'),
    startGateway(),
    startModelStandIn(),
    startModelStandIn({ noStore: true }),
  ]);
});

after(async () => {
  await Promise.all([everything?.stop(), gateway?.stop(), model?.close(), noStore?.close()]);
});

const agentFor = (stand, extra = {}) =>
  createAgent({
    model: 'gpt-standin',
    portkey: { baseURL: gateway.url, provider: 'openai', customHost: stand.url, authorization: 'Bearer standin' },
    servers: { everything: { url: everything.url } },
    ...extra,
  });

/** The bodies of the requests `stand` got from `from` on. */
const sentSince = (stand, from) => stand.requests.slice(from).map((r) => JSON.parse(r.body));

test('previousResponseId: the next run chains on the stored conversation and sends only its new input', async () => {
  const agent = agentFor(model);
  try {
    const first = await agent.run('What is 2 + 3?');
    assert.equal(first.status, 'completed');
    const from = model.requests.length;
    const second = await agent.run('Now echo "still here".', { previousResponseId: first.responseId });
    assert.equal(second.status, 'completed', JSON.stringify(second));
    assert.match(second.outputText, /Echo: still here/);
    const [opening, next] = sentSince(model, from);
    assert.equal(opening.previous_response_id, first.responseId);
    assert.deepEqual(opening.input, 'Now echo "still here".');
    assert.equal(JSON.stringify(opening.input).includes('2 + 3'), false, 'the earlier turns are not sent again');
    assert.equal(next.previous_response_id, second.turnDetails[0].responseId, 'later turns chain on this run');
    assert.equal(second.history, undefined, 'a run continued from a stored response has no whole history to give');
  } finally {
    await agent.close();
  }
});

for (const continuation of ['auto', 'replay']) {
  test(`history (${continuation}): the next run sends the earlier conversation in front of its input`, async () => {
    const agent = agentFor(continuation === 'replay' ? noStore : model, { continuation });
    const stand = continuation === 'replay' ? noStore : model;
    try {
      const first = await agent.run('What is 2 + 3?');
      assert.equal(first.status, 'completed');
      const types = first.history.map((item) => item.type ?? item.role);
      assert.deepEqual(types, ['user', 'function_call', 'function_call_output', 'message'], JSON.stringify(first.history));
      const from = stand.requests.length;
      const second = await agent.run('Now echo "still here".', { history: first.history });
      assert.equal(second.status, 'completed', JSON.stringify(second));
      assert.match(second.outputText, /Echo: still here/);
      const [opening] = sentSince(stand, from);
      assert.equal(opening.previous_response_id, undefined);
      assert.deepEqual(opening.input.slice(0, first.history.length), first.history);
      assert.deepEqual(opening.input[first.history.length], { role: 'user', content: 'Now echo "still here".' });
      assert.deepEqual(second.history.slice(0, first.history.length + 1), opening.input.slice(0, first.history.length + 1));
    } finally {
      await agent.close();
    }
  });
}

test('a continuation that cannot work says so: replay with previousResponseId; a provider that stores nothing', async () => {
  const replaying = agentFor(model, { continuation: 'replay' });
  await assert.rejects(replaying.run('Hi', { previousResponseId: 'resp_1' }), (e) => e.code === 'config' && /continue with the earlier result's history/.test(e.message));
  await assert.rejects(replaying.run('Hi', { previousResponseId: 'resp_1', history: [{ role: 'user', content: 'x' }] }), /not both/);
  await assert.rejects(replaying.run('Hi', { history: ['not an item'] }), /history\[0\] is not an input item/);
  await replaying.close();
  // `auto` falls back to replaying when the provider keeps nothing, but a run continued from a stored response
  // has nothing before it to replay: an error, not a conversation silently cut short.
  const agent = agentFor(noStore);
  try {
    await assert.rejects(agent.run('Now echo "x".', { previousResponseId: 'resp_elsewhere' }), (e) => e.code === 'model' && /continue it with the earlier result's history/.test(e.message));
  } finally {
    await agent.close();
  }
});
