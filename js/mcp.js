// MCP alone: one server, its tools listed and called directly (the same driver as an agent's, with no model).

import { Driver } from '../pkg/mcp_loop.js';
import { applyKnownEras } from './eras.js';
import { configError, failure, guarded } from './errors.js';
import { Host, deliver, launch } from './host.js';
import { CONNECTION } from './local.js';
import { checkHandlers, entropy, pickTransport, serverConfig } from './options.js';
import { init } from './wasm.js';

/**
 * Connects to one MCP server (Streamable HTTP, legacy HTTP+SSE, or stdio in Node) and resolves once it
 * answered: `{ serverInfo, protocolVersion, listTools(), callTool(name, args, { signal, onProgress }), close() }`.
 */
export async function connectMcp(options) {
  if (!options || typeof options !== 'object') throw configError('connectMcp needs an options object');
  const { handlers, fetch: _fetch, name = 'server', onEvent, ...server } = options;
  if (server.client !== undefined) throw configError('connectMcp connects to a url or a command; a client is already connected');
  await init();
  const checked = checkHandlers(handlers);
  const hooks = new Map();
  const core = serverConfig(name, server, checked, hooks);
  const eras = applyKnownEras([core]);
  const machine = guarded(() => new Driver(JSON.stringify({ servers: [core] }), entropy()));
  const ops = new Map();
  let connected = null;
  const host = new Host(machine, {
    transport: pickTransport(options, hooks),
    eras,
    hooks,
    handlers: checked,
    onOutput(out) {
      switch (out.type) {
        case 'event':
          if (out.event.type === 'serverConnected') connected = out.event;
          return deliver(onEvent, out.event);
        case 'opProgress':
          return deliver(ops.get(out.op)?.onProgress, { progress: out.progress, total: out.total ?? undefined, message: out.message ?? undefined });
        case 'opDone': {
          const slot = ops.get(out.op);
          if (!slot) return;
          ops.delete(out.op);
          if (out.error) slot.reject(failure(out));
          else slot.resolve(out.result);
        }
      }
    },
    onBroken(error) {
      for (const { reject } of ops.values()) reject(error);
      ops.clear();
    },
  });
  const start = (begin, { signal, onProgress } = {}) =>
    launch(
      host,
      signal,
      begin,
      (m, op, why) => m.cancelOp(op, why, Date.now()),
      (op, settle, resolve, reject) => ops.set(op, { resolve: settle(resolve), reject: settle(reject), onProgress }),
    );
  const listTools = () => start((m) => m.listTools(name, Date.now()));
  await host.restoreAuth();
  try {
    await listTools();
  } catch (error) {
    await host.close();
    throw error;
  }
  return {
    [CONNECTION]: true,
    serverInfo: connected?.serverInfo ?? null,
    protocolVersion: connected?.protocolVersion ?? null,
    listTools,
    callTool: (tool, args = {}, options = {}) => start((m) => m.callTool(name, tool, JSON.stringify(args), Date.now()), options),
    close: () => host.close(),
  };
}
