// The core's own work per turn, against one loopback round trip. A run of the tool loop alone (the wasm core,
// through the JS `ToolLoop`, JSON across the boundary both ways) with the tools of a real server from the corpus
// (server-everything) and three calls per turn, fed canned responses: no I/O at all, so the time is the core's
// (request building, call routing and argument checks, result conversion, snapshots not included). The loopback
// round trip is a `fetch` to a Node HTTP server on 127.0.0.1 answering a small JSON body, measured in the same run.
//
//   node bench/turn.mjs        (after `npm run build`)

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { ToolLoop } from '../js/node.js';

const { tools } = JSON.parse(readFileSync(new URL('../tests/fixtures/corpus/everything.json', import.meta.url)));
const TURNS = 4;
const call = (turn, i) => ({
  type: 'function_call',
  id: `fc_${turn}_${i}`,
  call_id: `call_${turn}_${i}`,
  name: 'echo',
  arguments: JSON.stringify({ message: `turn ${turn} call ${i}` }),
  status: 'completed',
});
const response = (turn) => ({
  id: `resp_${turn}`,
  status: 'completed',
  output: turn < TURNS ? [0, 1, 2].map((i) => call(turn, i)) : [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'done' }] }],
  usage: { input_tokens: 100, output_tokens: 20, total_tokens: 120 },
});
const result = { content: [{ type: 'text', text: 'Echo: a result of ordinary length, a sentence or two.' }] };

/** One whole run: the time to start it (which converts the catalog, as an agent does once per listing) and
 * the time per model turn after that. */
function run() {
  const begin = performance.now();
  const loop = ToolLoop.start({ model: 'm' }, { everything: tools }, 'hello');
  const started = performance.now();
  let turn = 0;
  for (;;) {
    const out = loop.next();
    if (out.type === 'callModel') loop.modelResponse(out.id, response(++turn));
    else if (out.type === 'callTool') loop.toolResult(out.id, result);
    else if (out.type === 'done') return [started - begin, (performance.now() - started) / turn];
  }
}

function median(samples) {
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

for (let i = 0; i < 50; i++) run();
const starts = [];
const perTurn = [];
for (let i = 0; i < 200; i++) {
  const [start, turn] = run();
  starts.push(start);
  perTurn.push(turn);
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;
const trips = [];
for (let i = 0; i < 300; i++) {
  const start = performance.now();
  await (await fetch(url, { method: 'POST', body: '{"x":1}' })).text();
  if (i >= 50) trips.push(performance.now() - start);
}
server.close();

const core = median(perTurn);
const trip = median(trips);
console.log(`tools in the catalog          ${tools.length}`);
console.log(`catalog conversion (per run)  ${(median(starts) * 1000).toFixed(0)} µs`);
console.log(`core work per turn (3 calls)  ${(core * 1000).toFixed(0)} µs`);
console.log(`one loopback round trip       ${(trip * 1000).toFixed(0)} µs`);
console.log(`ratio                         ${(core / trip).toFixed(2)} (core / round trip)`);
