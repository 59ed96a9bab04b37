// Starts the servers an end-to-end test needs and prints one JSON line with their URLs:
//   {"everything": "http://127.0.0.1:…/mcp", "gateway": "http://127.0.0.1:…/v1", "model": "http://127.0.0.1:…/v1"}
// For hosts that are not Node (the native Rust tests). It stops every server by pid when it gets SIGTERM or
// SIGINT, or when its stdin closes (so a test that dies does not leave servers behind).

import { startEverything, startGateway } from './procs.mjs';
import { startModelStandIn } from './model-standin.mjs';

const everything = await startEverything('streamableHttp');
const gateway = await startGateway();
const model = await startModelStandIn();

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([everything.stop(), gateway.stop(), model.close()]);
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

console.log(JSON.stringify({ everything: everything.url, gateway: gateway.url, model: model.url }));
