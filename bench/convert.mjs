// Tool conversion speed: a 1000-tool catalog converted by the wasm core (what browsers and Node run), as
// `toFunctionTools` does it (JSON in, JSON out, across the wasm boundary). The catalogs are built from the
// real-world corpus in tests/fixtures/corpus: every tool of 27 real servers, repeated (with new names) up to
// 1000, and the same count of the corpus's median-sized tool. Budget: 20 ms for 1000 tools.
//
//   node bench/convert.mjs        (after `npm run build`)

import { readFileSync, readdirSync } from 'node:fs';
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

for (const [name, tools] of Object.entries(catalogs)) {
  const kb = (JSON.stringify(tools).length / 1024).toFixed(0);
  for (const strict of ['auto', false]) {
    const ms = time(() => toFunctionTools(tools, { strict }));
    console.log(`${name.padEnd(12)} ${kb.padStart(5)} KB  strict ${String(strict).padEnd(5)} ${ms.toFixed(1).padStart(6)} ms per 1000 tools`);
  }
}
