// What a browser page downloads for mcp-loop, gzipped (-9): the wasm core and the browser entry module.
// Budget: 120 KB.
//
//   node bench/size.mjs        (after `npm run build`)

import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const files = ['pkg/mcp_loop_bg.wasm', 'pkg/browser.js'];
let total = 0;
for (const file of files) {
  const bytes = readFileSync(new URL(`../${file}`, import.meta.url));
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  console.log(`${file.padEnd(22)} ${(bytes.length / 1000).toFixed(1).padStart(7)} KB  ${(gz / 1000).toFixed(1).padStart(6)} KB gzipped`);
}
console.log(`${'browser bundle'.padEnd(22)} ${''.padStart(10)}  ${(total / 1000).toFixed(1).padStart(6)} KB gzipped (budget 120 KB)`);
