// The Node side of the parity test (tests/parity_native.rs): reads a job on stdin, runs its conversations with
// one agent, and prints `{ events, results }` as JSON: every run's events, and how each run ended.
//   job: { config: agent options in the core's JSON form (servers as an array of { name, … }),
//          needsPerson: labels the approval function leaves to a person (config.approve is 'host'),
//          runs: [{ input, cancelOn?: an event type that cancels the run when it comes }] }
import { createAgent } from '../../js/node.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const job = JSON.parse(text);
const { servers, approve, ...rest } = job.config;
const needsPerson = (call) => job.needsPerson.includes(call.arguments.label);
const agent = createAgent({
  ...rest,
  approve: approve === 'host' ? needsPerson : approve,
  servers: Object.fromEntries(servers.map(({ name, ...s }) => [name, s])),
});
const events = [];
const results = [];
for (const run of job.runs) {
  const seen = [];
  const controller = new AbortController();
  const onEvent = (event) => {
    seen.push(event);
    if (event.type === run.cancelOn) controller.abort('the test cancels');
  };
  try {
    results.push(await agent.run(run.input, { onEvent, signal: controller.signal }));
  } catch (error) {
    results.push({ error: String(error?.message ?? error) });
  }
  events.push(seen);
}
await agent.close();
process.stdout.write(JSON.stringify({ events, results }) + '\n');
