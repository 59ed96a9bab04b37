// A Restate worker for mcp-loop's durable runs: serves the `mcpLoop` workflow on one port from WORKERS processes
// (Node's cluster module spreads Restate's connections over them, as a load balancer in front of several
// machines would; a process that dies is started again). Needs Node 22 or later (the Restate SDK does).
//
//   MCP_URL=http://127.0.0.1:3001/mcp MODEL_URL=http://127.0.0.1:4000/v1 PORT=9080 node examples/restate/worker.mjs
//
// Environment: MCP_URL (the MCP server), MCP_NAME (its name, default `intranet`), MCP_TOKEN (a bearer token for
// it), MODEL_URL (a Responses endpoint: Portkey, or the offline stand-in), MODEL (default `gpt-standin`),
// MODEL_KEY (its Authorization bearer), APPROVE_TOOLS (tool names that wait for a person; default: the
// destructive ones), RUN_TIMEOUT_MS (runTimeoutMs), PORT (default 9080), WORKERS (default 2).

import cluster from 'node:cluster';

const env = process.env;
const port = Number(env.PORT ?? 9080);

if (cluster.isPrimary) {
  let stopping = false;
  const start = () => {
    const worker = cluster.fork();
    console.log(`worker ${worker.process.pid} started`);
  };
  for (let i = 0; i < Number(env.WORKERS ?? 2); i++) start();
  let listening = 0;
  cluster.on('message', (_, message) => {
    if (message === 'listening' && ++listening === Number(env.WORKERS ?? 2)) console.log(`mcp-loop workers listening on ${port}`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    console.log(`worker ${worker.process.pid} ended (${signal ?? code}); starting another`);
    start();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const restate = await import('@restatedev/restate-sdk');
  const { restateWorkflow } = await import('mcp-loop/restate');
  const approveTools = env.APPROVE_TOOLS?.split(',').filter(Boolean);
  const workflow = restateWorkflow({
    model: env.MODEL ?? 'gpt-standin',
    runTimeoutMs: env.RUN_TIMEOUT_MS ? Number(env.RUN_TIMEOUT_MS) : undefined,
    portkey: { baseURL: env.MODEL_URL, authorization: `Bearer ${env.MODEL_KEY ?? 'offline-demo'}` },
    servers: {
      [env.MCP_NAME ?? 'intranet']: {
        url: env.MCP_URL,
        headers: env.MCP_TOKEN ? { authorization: `Bearer ${env.MCP_TOKEN}` } : undefined,
        approve: approveTools ? (call) => approveTools.includes(call.tool) : 'destructive',
      },
    },
  });
  await restate.serve({ services: [workflow], port });
  process.send('listening');
}
