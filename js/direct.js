// Operations without a run on one driver: tools listed and called directly, single model requests. connectMcp
// runs one server on it; a Restate worker runs an agent's servers and model on it, one journaled step each.

import { failure } from './errors.js';
import { Host, deliver, launch } from './host.js';

/**
 * A host for direct operations on `machine`: `start(begin, { signal, onProgress })` resolves with the
 * operation's result (`begin(machine)` gives its id), `close()` ends the sessions. Events go to `onEvent`.
 */
export function directHost(machine, { onEvent, ...options }) {
  const ops = new Map();
  const host = new Host(machine, {
    ...options,
    onOutput(out) {
      switch (out.type) {
        case 'event':
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
  return { host, start, close: () => host.close() };
}
