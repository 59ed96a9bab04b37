// Durable runs on Restate against the in-process agent, in one run: the same conversations against the same
// counting MCP server (instant calls) and model stand-in. Reports runs per second with many conversations at once
// (two worker processes for Restate; one process for the agent) and the time per model turn of one conversation
// alone (ten turns of one call), whose difference is what journaling costs a turn: the steps' round trips to
// restate-server and its writes to disk.
//
//   node bench/restate.mjs [conversations=50] [repeats=3]     (after `sh scripts/setup.sh --test`)

import { createAgent } from 'mcp-loop';
import { restateClient } from 'mcp-loop/restate/client';
import { startCountingServer } from '../tests/support/counting-server.mjs';
import { startModelStandIn } from '../tests/support/model-standin.mjs';
import { startRestate, startWorkers } from '../tests/support/restate.mjs';

const CONVERSATIONS = Number(process.argv[2] ?? 50);
const REPEATS = Number(process.argv[3] ?? 3);
const LOAD = (tag) => `Do two rounds of slow lookups tagged ${tag}.`; // three turns, three parallel calls in two
const ALONE = (tag) => `Do 10 single lookups tagged ${tag}.`; // eleven turns, one call in ten

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [counting, model, restate] = await Promise.all([startCountingServer({ delayMs: 0 }), startModelStandIn(), startRestate()]);
const workers = await startWorkers({ MCP_URL: counting.url, MCP_NAME: 'counting', MODEL_URL: model.url, APPROVE_TOOLS: '-' });
await restate.register(workers.uri);
const client = restateClient({ url: restate.ingress });
const agent = createAgent({
  model: 'gpt-standin',
  portkey: { baseURL: model.url, authorization: 'Bearer bench' },
  servers: { counting: { url: counting.url } },
});

let serial = 0;
const engines = {
  'in-process agent': async (input) => agent.run(input),
  restate: async (input) => client.result(await client.start(input, { runId: `bench-${serial++}` })),
};

const rows = {};
try {
  // Warm both: connections open, code compiled.
  for (const run of Object.values(engines)) await Promise.all([run(LOAD('warm')), run(ALONE('warm'))]);
  for (let r = 0; r < REPEATS; r++) {
    for (const [name, run] of Object.entries(engines)) {
      const row = (rows[name] ??= { load: [], turn: [] });
      counting.reset();
      let begin = performance.now();
      const results = await Promise.all(Array.from({ length: CONVERSATIONS }, (_, i) => run(LOAD(`${r}-${i}`))));
      row.load.push(performance.now() - begin);
      if (results.some((x) => x.status !== 'completed') || counting.calls().length !== CONVERSATIONS * 6) {
        throw new Error(`${name}: ${counting.calls().length} calls for ${CONVERSATIONS} conversations`);
      }
      begin = performance.now();
      const alone = await run(ALONE(`${r}`));
      row.turn.push((performance.now() - begin) / alone.turns);
    }
  }
} finally {
  await agent.close();
  await workers.stop();
  await Promise.all([restate.stop(), counting.close(), model.close()]);
}

const agentTurn = median(rows['in-process agent'].turn);
console.log(`${CONVERSATIONS} conversations at once (3 turns, 6 calls each), median of ${REPEATS}; one conversation of 11 turns alone`);
console.log('| engine | wall | runs/s | per turn alone | overhead per turn |');
console.log('|---|---|---|---|---|');
for (const [name, row] of Object.entries(rows)) {
  const wall = median(row.load);
  const turn = median(row.turn);
  const overhead = name === 'restate' ? `+${(turn - agentTurn).toFixed(1)} ms` : '–';
  console.log(`| ${name} | ${wall.toFixed(0)} ms | ${((CONVERSATIONS * 1000) / wall).toFixed(0)} | ${turn.toFixed(1)} ms | ${overhead} |`);
}
