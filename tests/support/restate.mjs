// The real Restate server (npm @restatedev/restate-server: its static binary, run directly) and mcp-loop's
// Restate workers (examples/restate/worker.mjs under Node 22, which the Restate SDK needs), for the durable-run
// tests, the example and the bench. Everything on loopback and free ports; stopped by pid.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NODE22, freePort, startProcess } from './procs.mjs';

/** Node 22 or later for the workers (the Restate SDK needs it): this one, else the one scripts/setup.sh installs. */
export const WORKER_NODE = Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : NODE22;

const require = createRequire(import.meta.url);
const BINARY = join(dirname(require.resolve('@restatedev/restate-server-linux-x64/package.json')), 'bin/restate-server');

// Quiet, no telemetry, quick retries; a worker that stops answering is given up on after 5 s (the kill tests).
const CONFIG = `
log-filter = "error,octocrab=off"
disable-telemetry = true
default-num-partitions = 2
[default-retry-policy]
initial-interval = "100ms"
max-interval = "1s"
[worker.invoker]
inactivity-timeout = "5s"
[admin]
disable-web-ui = true
`;

const ok = async (url) => (await fetch(url)).ok;

/** Starts restate-server with its state in a fresh directory; `{ ingress, admin, register(uri), stop() }`. */
export async function startRestate() {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-loop-restate-'));
  writeFileSync(join(dir, 'config.toml'), CONFIG);
  const [ingressPort, adminPort, nodePort] = await Promise.all([freePort(), freePort(), freePort()]);
  const ingress = `http://127.0.0.1:${ingressPort}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  const server = await startProcess('restate-server', BINARY, ['--base-dir', join(dir, 'data'), '--config-file', join(dir, 'config.toml')], {
    env: {
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingressPort}`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${adminPort}`,
      RESTATE_BIND_ADDRESS: `127.0.0.1:${nodePort}`,
    },
    probe: async () => (await ok(`${admin}/health`)) && ok(`${ingress}/restate/health`),
  });
  return {
    ingress,
    admin,
    /** Registers the deployment at `uri` (again, `force`d, after its services changed). */
    async register(uri) {
      const response = await fetch(`${admin}/deployments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uri, force: true }) });
      if (!response.ok) throw new Error(`registering ${uri}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts examples/restate/worker.mjs: `workers` processes serving one port. `env` is the worker's configuration
 * (MCP_URL, MODEL_URL, …). Resolves to `{ uri, pids(), killOne(), stop() }`; `pids()` are the serving processes.
 */
export async function startWorkers(env, { workers = 2, port } = {}) {
  port ??= await freePort();
  const proc = await startProcess('restate workers', WORKER_NODE, ['examples/restate/worker.mjs'], {
    env: { ...env, PORT: String(port), WORKERS: String(workers), RESTATE_LOGGING: 'WARN' },
    ready: (output) => output.includes(`mcp-loop workers listening on ${port}`),
  });
  const pids = () => {
    const started = [...proc.output().matchAll(/worker (\d+) started/g)].map((m) => Number(m[1]));
    const ended = new Set([...proc.output().matchAll(/worker (\d+) ended/g)].map((m) => Number(m[1])));
    return started.filter((pid) => !ended.has(pid));
  };
  return {
    uri: `http://127.0.0.1:${port}`,
    port,
    pids,
    output: proc.output,
    /** Kills one serving process at random with SIGKILL (the primary starts another); resolves to its pid. */
    killOne() {
      const live = pids();
      const pid = live[Math.floor(Math.random() * live.length)];
      process.kill(pid, 'SIGKILL');
      return pid;
    },
    async stop() {
      const children = pids();
      await proc.stop();
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    },
  };
}
