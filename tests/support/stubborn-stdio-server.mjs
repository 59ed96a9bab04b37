// A stdio MCP server (handshake era) with one tool, `echo`, that does not exit when its stdin closes, as some
// servers do. It writes what it notices to the log file named by its first argument ("stdin closed", then the
// signal that ends it), so a test can see how a host ends it: the contract says TERM first, KILL only if need be.
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const log = (line) => appendFileSync(process.argv[2], `${line}\n`);
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
const echo = { name: 'echo', description: 'Echoes a message', inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } };

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { id, method, params } = JSON.parse(line);
  if (id === undefined) return;
  if (method === 'initialize') send({ id, result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'stubborn', version: '1' } } });
  else if (method === 'tools/list') send({ id, result: { tools: [echo] } });
  else if (method === 'tools/call') send({ id, result: { content: [{ type: 'text', text: `Echo: ${params?.arguments?.message}` }] } });
  else send({ id, error: { code: -32601, message: 'Method not found' } });
});
lines.on('close', () => log('stdin closed'));
process.on('SIGTERM', () => {
  log('SIGTERM');
  process.exit(0);
});
// Alive after its stdin closed, until a signal ends it.
setInterval(() => {}, 1000);
