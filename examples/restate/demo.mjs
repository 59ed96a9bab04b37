// Durable runs on Restate, end to end on this machine: restate-server, two mcp-loop workers
// (examples/restate/worker.mjs), the demo's intranet MCP server and the offline model stand-in. Registers the
// workers, starts three conversations at once through Restate's ingress, follows their events, and decides the
// one call that waits for a person (calendar reads do, in this demo) from the command line.
//
//   npm run demo:restate                  (or, set up: node examples/restate/demo.mjs [--yes: decide without asking])

import { createInterface } from 'node:readline/promises';
import { restateClient } from 'mcp-loop/restate/client';
import { DEMO_TOKEN, startIntranetServer } from '../intranet-server.mjs';
import { startModelStandIn } from '../../tests/support/model-standin.mjs';
import { startRestate, startWorkers } from '../../tests/support/restate.mjs';

/** A person's answer on the terminal; `--yes`, or no terminal, answers yes. */
async function ask(question) {
  if (process.argv.includes('--yes') || !process.stdin.isTTY) {
    console.log(`${question}y (${process.stdin.isTTY ? '--yes' : 'no terminal'})`);
    return true;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(question);
  rl.close();
  return /^y/i.test(answer);
}

const QUESTIONS = ['Who is Ada Lovelace?', 'Are there open tickets about VPN?', 'Who is Grace Hopper, and what is on her calendar today?'];

const [intranet, model, restate] = await Promise.all([startIntranetServer(), startModelStandIn(), startRestate()]);
let workers;
try {
  workers = await startWorkers({
    MCP_URL: intranet.url,
    MCP_TOKEN: DEMO_TOKEN,
    MODEL_URL: model.url,
    APPROVE_TOOLS: 'calendar_events',
  });
  await restate.register(workers.uri);
  console.log(`restate-server ${restate.ingress}; workers ${workers.pids().join(' and ')} on ${workers.uri}`);
  const client = restateClient({ url: restate.ingress });

  const runs = await Promise.all(QUESTIONS.map((question) => client.start(question)));
  // Follows a run's events; when it waits for a person, asks (any process could decide, through the ingress).
  const watch = async (runId, i) => {
    for (let seen = 0; ; ) {
      for await (const event of client.follow(runId, { after: seen, intervalMs: 100 })) {
        seen += 1;
        if (event.type === 'toolCallStarted') console.log(`[run ${i + 1}] ${event.name} ${JSON.stringify(event.arguments)}`);
        if (event.type === 'toolCallFinished') console.log(`[run ${i + 1}] ${event.name} → ${String(event.output).slice(0, 80)}`);
      }
      const pending = await client.pending(runId);
      if (!pending.length) return;
      const decisions = {};
      for (const call of pending) decisions[call.callId] = await ask(`[run ${i + 1}] ${call.tool} ${JSON.stringify(call.arguments)} waits for a person. Approve? [y/N] `);
      await client.decide(runId, decisions);
    }
  };
  await Promise.all(runs.map(watch));

  const results = await Promise.all(runs.map((runId) => client.result(runId)));
  for (const [i, result] of results.entries()) {
    console.log(`\n[run ${i + 1}] ${QUESTIONS[i]}\n${result.outputText}\n(${result.status}, ${result.turns} turns, ${result.toolCalls.length} tool calls)`);
  }
} finally {
  await workers?.stop();
  await Promise.all([restate.stop(), intranet.close(), model.close()]);
}
