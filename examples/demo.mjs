// The main job, end to end: a private MCP server on this machine, a model behind Portkey, and mcp-loop in
// between. With PORTKEY_API_KEY set it uses hosted Portkey and a real model; without, it runs offline through
// the open-source Portkey gateway to a local stand-in that plays the model.
//
//   npm run demo                       (offline)
//   npm run demo -- "Who is Grace Hopper?"
//   PORTKEY_API_KEY=… PORTKEY_PROVIDER=@openai-prod MCP_LOOP_MODEL=gpt-4.1-mini npm run demo

import { createAgent } from 'mcp-loop';
import { startIntranetServer } from './intranet-server.mjs';
import { startGateway } from '../tests/support/procs.mjs';
import { startModelStandIn } from '../tests/support/model-standin.mjs';

const question =
  process.argv.slice(2).join(' ') || 'Who is Ada Lovelace, what is on her calendar today, and are there open tickets about VPN?';

const dim = (s) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const short = (s, n = 160) => (s.length > n ? `${s.slice(0, n)}…` : s);
// A tool output is a string, or a list of parts when it carries images or files.
const textOf = (output) =>
  typeof output === 'string' ? output : output.map((p) => p.text ?? `[${p.type.replace('input_', '')}]`).join(' ');

const intranet = await startIntranetServer();
const cleanup = [() => intranet.close()];
let portkey;
let model;
let modelNote;
try {
  if (process.env.PORTKEY_API_KEY) {
    model = process.env.MCP_LOOP_MODEL ?? 'gpt-4.1-mini';
    portkey = {
      apiKey: process.env.PORTKEY_API_KEY,
      provider: process.env.PORTKEY_PROVIDER,
      virtualKey: process.env.PORTKEY_VIRTUAL_KEY,
      config: process.env.PORTKEY_CONFIG,
      baseURL: process.env.PORTKEY_BASE_URL,
      authorization: process.env.OPENAI_API_KEY && `Bearer ${process.env.OPENAI_API_KEY}`,
    };
    for (const key of Object.keys(portkey)) if (portkey[key] === undefined) delete portkey[key];
    modelNote = `${model} through hosted Portkey (${portkey.baseURL ?? 'https://api.portkey.ai/v1'})`;
  } else {
    const standIn = await startModelStandIn();
    cleanup.push(() => standIn.close());
    const gateway = await startGateway();
    cleanup.push(() => gateway.stop());
    model = 'gpt-standin';
    portkey = { baseURL: gateway.url, provider: 'openai', customHost: standIn.url, authorization: 'Bearer offline-demo' };
    modelNote =
      `${model} through the open-source Portkey gateway (${gateway.url}).\n` +
      `              No PORTKEY_API_KEY is set, so this runs offline: a local stand-in that speaks the\n` +
      `              Responses API plays the model and picks tools by simple rules. It is not a real model.`;
  }

  console.log(bold('mcp-loop demo'));
  console.log(`  MCP server  intranet at ${intranet.url} (bearer token; both stay on this machine)`);
  console.log(`  Model       ${modelNote}\n`);
  console.log(`${bold('You:')} ${question}\n`);

  const agent = createAgent({
    model,
    instructions: 'You help employees using the company intranet tools. Answer briefly.',
    portkey,
    servers: { intranet: { url: intranet.url, headers: { authorization: `Bearer ${intranet.token}` } } },
  });
  const started = new Map();
  const result = await agent.run(question, {
    onEvent(event) {
      switch (event.type) {
        case 'serverConnected':
          const { name = 'MCP server', version = '' } = event.serverInfo ?? {};
          console.log(dim(`[connected] ${event.server}: ${name} ${version}, protocol ${event.protocolVersion}`));
          break;
        case 'toolsListed':
          console.log(dim(`[tools] ${event.count} tools offered to the model as function tools (${event.strict} strict)`));
          break;
        case 'turnStarted':
          console.log(`\n${bold(`── turn ${event.turn}`)} asking the model…`);
          break;
        case 'turnCompleted':
          console.log(event.toolCalls ? `   the model calls ${event.toolCalls} tool(s)` : '   the model answers');
          break;
        case 'toolCallStarted':
          started.set(event.callId, Date.now());
          console.log(`   → ${event.server ?? '?'}/${event.tool ?? event.name} ${JSON.stringify(event.arguments)}`);
          break;
        case 'toolCallFinished': {
          const ms = Date.now() - (started.get(event.callId) ?? Date.now());
          console.log(`   ← ${event.name}${event.isError ? ' (error)' : ''} ${dim(`${ms} ms`)}: ${short(textOf(event.output).replace(/\s+/g, ' '))}`);
          break;
        }
        case 'warning':
          console.log(dim(`[warning] ${event.server ? `${event.server}: ` : ''}${event.message}`));
          break;
      }
    },
  });
  console.log(`\n${bold('Answer:')}\n${result.outputText}\n`);
  console.log(
    dim(`${result.status} · ${result.turns} turns · ${result.toolCalls.length} tool calls · ${result.usage.totalTokens} tokens · trace ${result.traceId}`),
  );
  await agent.close();
} catch (error) {
  console.error(`\ndemo failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  for (const stop of cleanup.reverse()) await stop();
}
