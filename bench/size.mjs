// What a browser page downloads for the job, gzipped (-9): mcp-loop (the wasm core and the browser entry
// module) against peers bundled for the browser the same way (esbuild, minified, one ESM file). The OpenAI
// Agents SDK runs the agent loop in a browser, but its MCP server classes are stubs there (every method throws
// "Method not implemented"), so a page that wants both loads it with the official MCP TypeScript SDK's client;
// that client alone is MCP only (no model loop, no tool conversion). Budget: 120 KB.
//
//   node bench/size.mjs        (after `npm run build`)

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const kb = (n) => (n / 1000).toFixed(1).padStart(7);
const line = (name, bytes, gz) => console.log(`${name.padEnd(40)} ${kb(bytes)} KB  ${kb(gz)} KB gzipped`);

let ours = 0;
for (const file of ['pkg/mcp_loop_bg.wasm', 'pkg/browser.js']) {
  const bytes = readFileSync(new URL(`../${file}`, import.meta.url));
  const gz = gzipSync(bytes, { level: 9 }).length;
  ours += gz;
  line(file, bytes.length, gz);
}
console.log(`${'mcp-loop browser bundle'.padEnd(40)} ${''.padStart(10)}  ${kb(ours)} KB gzipped (budget 120 KB)`);

const agents = `export { Agent, run } from '@openai/agents';`;
const mcpClient = `export { Client } from '@modelcontextprotocol/sdk/client/index.js';
export { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';`;
const peers = {
  'Agents SDK + MCP SDK client': `${agents}\n${mcpClient}`,
  'Agents SDK (loop; MCP stubbed)': agents,
  'MCP SDK client (MCP only)': mcpClient,
};
const ratios = [];
for (const [name, contents] of Object.entries(peers)) {
  const out = await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    write: false,
    logLevel: 'error',
  });
  const bytes = out.outputFiles[0].contents;
  const gz = gzipSync(bytes, { level: 9 }).length;
  line(name, bytes.length, gz);
  ratios.push(`${(ours / gz).toFixed(2)} of ${name.split(' (')[0]}`);
}
console.log(`ratios: mcp-loop is ${ratios.join(', ')}`);
