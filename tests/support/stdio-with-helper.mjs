// A stdio MCP server (handshake era, one tool) that starts a long-lived helper process sharing its stdout, as
// servers run through `npx`, `uv run` or `sh -c` often do, then exits when its stdin closes. The helper's pid
// goes to the file named by the first argument, so the test can stop it.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const helper = spawn('sleep', ['60'], { stdio: ['ignore', 'inherit', 'inherit'] });
writeFileSync(process.argv[2], String(helper.pid));
helper.unref();

const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { id, method } = JSON.parse(line);
  if (id === undefined) return;
  if (method === 'initialize') send({ id, result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'helper', version: '1' } } });
  else if (method === 'tools/list') send({ id, result: { tools: [{ name: 'noop', inputSchema: { type: 'object' } }] } });
  else send({ id, error: { code: -32601, message: 'Method not found' } });
});
lines.on('close', () => process.exit(0));
