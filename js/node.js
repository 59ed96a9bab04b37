// Node entry: load the wasm core synchronously from the package, teach the host to start stdio servers, then
// expose the API.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { initSync } from '../pkg/mcp_loop.js';
import { platform } from './platform.js';

initSync({ module: readFileSync(new URL('../pkg/mcp_loop_bg.wasm', import.meta.url)) });

/** How long a server gets after its stdin closes before TERM, and after TERM before KILL. */
const GRACE_MS = 2000;

platform.spawn = ({ command, args, inherit, env, cwd }, { stdout, stderr, exit }) => {
  const environment = Object.fromEntries(inherit.filter((k) => k in process.env).map((k) => [k, process.env[k]]));
  for (const [k, v] of env) environment[k] = v;
  let ended = false;
  const end = (reason) => {
    if (!ended) {
      ended = true;
      exit(reason);
    }
  };
  let child;
  try {
    child = spawn(command, args, { cwd, env: environment, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  } catch (error) {
    queueMicrotask(() => end(`could not start: ${error.code ?? error.message}`));
    return { write() {}, close() {} };
  }
  child.stdout.on('data', stdout);
  child.stderr.on('data', stderr);
  child.stdin.on('error', () => {}); // a dead process shows up as its exit
  child.on('error', (error) => end(`could not start: ${error.code ?? error.message}`));
  child.on('close', (code, signal) => end(code === null ? `was killed by ${signal}` : `exited with code ${code}`));
  return {
    write(line) {
      if (child.stdin.writable) child.stdin.write(line);
    },
    // Close stdin; then TERM, then KILL, each after a grace period. 'close' reaps it and reports the exit.
    close() {
      child.stdin.end();
      const term = setTimeout(() => {
        if (!ended) child.kill('SIGTERM');
        const kill = setTimeout(() => ended || child.kill('SIGKILL'), GRACE_MS);
        kill.unref?.();
      }, GRACE_MS);
      term.unref?.();
    },
  };
};

export * from './core.js';
