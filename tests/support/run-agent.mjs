// The Node twin of `cargo run --example resume`: reads `{ config, input }` or `{ config, snapshot, decisions }`
// as JSON on stdin, runs or resumes the conversation in this fresh process, and prints the result as JSON on
// stdout (`{ "error": … }` on failure). `config` is the agent options in the core's JSON form (`servers` as an
// array of `{ name, url, … }`), so both hosts read the same job. `"snapshots": true` prints every step's
// snapshot on stderr, one JSON line each.
import { createAgent } from '../../js/node.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const job = JSON.parse(text);
const { servers, ...rest } = job.config;
const agent = createAgent({ ...rest, servers: Object.fromEntries(servers.map(({ name, ...s }) => [name, s])) });
const options = { stream: job.stream === true };
if (job.snapshots) options.onSnapshot = (s) => process.stderr.write(JSON.stringify(s) + '\n');
try {
  const result = job.snapshot ? await agent.resume(job.snapshot, job.decisions ?? [], options) : await agent.run(job.input, options);
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error?.message ?? error) }) + '\n');
  process.exitCode = 1;
} finally {
  await agent.close();
}
