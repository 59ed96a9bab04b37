// Tool conversion speed: a 1000-tool catalog converted by the wasm core (what browsers and Node run), as
// `toFunctionTools` does it (JSON in, JSON out, across the wasm boundary). The catalogs are built from the
// real-world corpus in tests/fixtures/corpus: every tool of 27 real servers, repeated (with new names) up to
// 1000, and the same count of the corpus's median-sized tool. Budget: 20 ms for 1000 tools.
//
// The peer, in the same run: the OpenAI Agents SDK's `mcpToFunctionTool` on the same tools, with and without
// its strict conversion. It does less: a shallow copy of the schema with `additionalProperties` set, and for
// strict a check that falls back to non-strict (optional properties are not made nullable, names are not made
// valid, nothing is kept to validate arguments or remove nulls on the way back). Its warnings for the tools it
// cannot make strict are silenced while it is timed.
//
//   node bench/convert.mjs        (after `npm run build`)

import { readFileSync, readdirSync } from 'node:fs';
import { mcpToFunctionTool } from '@openai/agents';
import { toFunctionTools } from '../js/node.js';

const dir = new URL('../tests/fixtures/corpus/', import.meta.url);
const corpus = readdirSync(dir).flatMap((f) => JSON.parse(readFileSync(new URL(f, dir))).tools);
const sized = [...corpus].sort((a, b) => JSON.stringify(a).length - JSON.stringify(b).length);
const median = sized[Math.floor(sized.length / 2)];

const catalog = (pick) => Array.from({ length: 1000 }, (_, i) => ({ ...pick(i), name: `${pick(i).name}_${i}` }));
const catalogs = {
  'corpus mix': catalog((i) => corpus[i % corpus.length]),
  'median tool': catalog(() => median),
};

function time(run, rounds = 20) {
  run();
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    run();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const server = { name: 'bench' };
const quietly = (run) => () => {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return run();
  } finally {
    console.warn = warn;
  }
};

console.log('catalog        size     strict  mcp-loop   Agents SDK   ratio   (ms per 1000 tools)');
for (const [name, tools] of Object.entries(catalogs)) {
  const kb = `${(JSON.stringify(tools).length / 1024).toFixed(0)} KB`;
  for (const strict of ['auto', false]) {
    const ours = time(() => toFunctionTools(tools, { strict }));
    const peer = time(quietly(() => tools.map((t) => mcpToFunctionTool(t, server, strict !== false))));
    const cells = [name.padEnd(12), kb.padStart(7), String(strict).padStart(8), ours.toFixed(1).padStart(9), peer.toFixed(1).padStart(12)];
    console.log(`${cells.join(' ')}   ${(ours / peer).toFixed(2).padStart(5)}×`);
  }
}
