// Starts the servers a test needs and prints one JSON line with their URLs, for hosts that are not Node (the
// native Rust tests):
//   node tests/support/stack.mjs [everything] [everything-sse] [gateway] [model] [model-nostore] [python]
//                                [python-json] [python-stateless] [python-stateless-json] [faulty] [counting] [leaky]
// (default: everything gateway model). It stops every server by pid on SIGTERM or SIGINT, or when its stdin
// closes (so a test that dies does not leave servers behind).

import { startAll, startEverything, startGateway, startPython } from './procs.mjs';
import { startModelStandIn } from './model-standin.mjs';
import { startFaultyServer } from './faulty-server.mjs';
import { startCountingServer } from './counting-server.mjs';
import { startLeakyServer } from './leaky-server.mjs';

/** A server started in this process, as the stack keeps it. */
const inProcess = (start) => async () => {
  const server = await start();
  return { url: server.url, stop: server.close };
};

const STARTERS = {
  everything: () => startEverything('streamableHttp'),
  'everything-sse': () => startEverything('sse'),
  gateway: () => startGateway(),
  model: inProcess(() => startModelStandIn()),
  // A provider without stored responses: every previous_response_id is refused.
  'model-nostore': inProcess(() => startModelStandIn({ noStore: true })),
  // The MCP endpoint (…/mcp); GET /__calls and POST /__reset sit beside it on the same origin.
  counting: inProcess(() => startCountingServer()),
  faulty: inProcess(() => startFaultyServer()),
  // Leaks every credential it gets; GET /__leaked beside the MCP endpoint tells them.
  leaky: inProcess(() => startLeakyServer()),
  python: () => startPython(),
  'python-json': () => startPython({ json: true }),
  'python-stateless': () => startPython({ stateless: true }),
  'python-stateless-json': () => startPython({ stateless: true, json: true }),
};

const names = process.argv.slice(2).length ? process.argv.slice(2) : ['everything', 'gateway', 'model'];
const unknown = names.filter((n) => !STARTERS[n]);
if (unknown.length) {
  console.error(`unknown server(s): ${unknown.join(', ')}; known: ${Object.keys(STARTERS).join(', ')}`);
  process.exit(2);
}
const started = await startAll(names.map((n) => STARTERS[n]()));
const servers = Object.fromEntries(names.map((n, i) => [n, started[i]]));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(Object.values(servers).map((s) => s.stop()));
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

console.log(JSON.stringify(Object.fromEntries(Object.entries(servers).map(([n, s]) => [n, s.url]))));
