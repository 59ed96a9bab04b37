// The core's own work per turn, against one loopback round trip and against a peer. A run of the tool loop alone
// (the wasm core, through the JS `ToolLoop`, JSON across the boundary both ways) with the tools of a real server
// from the corpus (server-everything) and three calls per turn, fed canned responses: no I/O at all, so the time
// is the core's (request building, call routing and argument checks, result conversion). The same conversation
// in the OpenAI Agents SDK (its runner, a model object returning the same calls, the same tools as in-process
// function tools with the same canned result). The loopback round trip is a `fetch` to a Node HTTP server on
// 127.0.0.1 answering a small JSON body. All in one run.
//
//   node bench/turn.mjs        (after `npm run build`)

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { ToolLoop } from '../js/node.js';
import { Agent, run as runAgents, setTracingDisabled, tool, Usage } from '@openai/agents';

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

// The peer: the OpenAI Agents SDK's runner over the same turns.
setTracingDisabled(true);
let peerTurn = 0;
const peerModel = {
  async getResponse() {
    peerTurn += 1;
    const t = ((peerTurn - 1) % TURNS) + 1;
    const output = response(t).output.map((item) =>
      item.type === 'function_call' ? { type: 'function_call', callId: item.call_id, name: item.name, arguments: item.arguments, status: 'completed' } : { ...item, status: 'completed' },
    );
    return { usage: new Usage(), output, responseId: `resp_${peerTurn}` };
  },
  async *getStreamedResponse() {
    throw new Error('not used');
  },
};
const peerTools = tools.map((t) =>
  tool({ name: t.name, description: t.description ?? '', parameters: { ...t.inputSchema, additionalProperties: true }, strict: false, execute: async () => result.content[0].text }),
);
const peer = new Agent({ name: 'bench', instructions: 'x', model: peerModel, tools: peerTools });
for (let i = 0; i < 30; i++) await runAgents(peer, 'hello');
const peerPerTurn = [];
for (let i = 0; i < 100; i++) {
  const start = performance.now();
  await runAgents(peer, 'hello');
  peerPerTurn.push((performance.now() - start) / TURNS);
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
const agents = median(peerPerTurn);
console.log(`OpenAI Agents SDK per turn    ${(agents * 1000).toFixed(0)} µs`);
console.log(`ratios                        ${(core / trip).toFixed(2)} of a round trip; ${(agents / core).toFixed(1)}× less than the Agents SDK`);
