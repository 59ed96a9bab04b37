// Node entry: load the wasm core synchronously from the package, teach the host to start stdio servers, then
// expose the API.
import { initSync } from '../pkg/mcp_loop.js';
import { builtin } from './builtin.js';
import { platform } from './platform.js';
import { loopbackSignIn } from './signin.js';
import { nodeTransport } from './nodehttp.js';
import { markLoaded } from './wasm.js';

initSync({ module: builtin('node:fs').readFileSync(new URL('../pkg/mcp_loop_bg.wasm', import.meta.url)) });
markLoaded();

/** How long the output of a server that exited may still drain. */
const EXIT_DRAIN_MS = 500;

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
    child = builtin('node:child_process').spawn(command, args, { cwd, env: environment, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  } catch (error) {
    queueMicrotask(() => end(`could not start: ${error.code ?? error.message}`));
    return { write() {}, close() {}, signal() {} };
  }
  child.stdout.on('data', (bytes) => ended || stdout(bytes));
  child.stderr.on('data', (bytes) => ended || stderr(bytes));
  child.stdin.on('error', () => {}); // a dead process shows up as its exit
  child.on('error', (error) => end(`could not start: ${error.code ?? error.message}`));
  const why = (code, signal) => (code === null ? `was killed by ${signal}` : `exited with code ${code}`);
  // 'close' comes once the pipes are drained too. A helper the server started may hold them open after the
  // server itself exited: past a short wait, its exit is the end, and whatever the helper writes is ignored.
  let late;
  child.on('exit', (code, signal) => {
    late = setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
      end(why(code, signal));
    }, EXIT_DRAIN_MS);
    late.unref?.();
  });
  child.on('close', (code, signal) => {
    clearTimeout(late);
    end(why(code, signal));
  });
  return {
    write(line) {
      if (child.stdin.writable) child.stdin.write(line);
    },
    // Closes stdin; when to TERM and KILL is the core's (it sends `terminate`, then `kill`). 'close' reaps the
    // process and reports its exit.
    close() {
      child.stdin.end();
    },
    signal(name) {
      if (!ended) child.kill(name);
    },
  };
};

platform.signIn = loopbackSignIn;
platform.transport = nodeTransport();

export * from './core.js';
export { fileTokenStore } from './filestore.js';
