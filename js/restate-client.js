// Runs of mcp-loop's Restate workflow (mcp-loop/restate), from anywhere: plain HTTP to Restate's ingress, no
// Restate SDK and no wasm: `fetch` is all it needs (Node 20 or later).

import { McpLoopError, configError } from './errors.js';

/**
 * A client for runs of `restateWorkflow` through Restate's ingress at `url`: start, follow, decide, cancel and
 * read results. Plain HTTP with `fetch`; `headers` go with every request.
 */
export function restateClient({ url, name = 'mcpLoop', headers = {}, fetch: fetchFn = globalThis.fetch } = {}) {
  if (typeof url !== 'string' || !url) throw configError('restateClient needs the ingress url');
  const base = url.replace(/\/+$/, '');
  const request = async (path, init = {}) => {
    const response = await fetchFn(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...headers, ...init.headers } });
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Not Restate's JSON (a proxy's page, say): the status tells what happened.
      if (response.ok) throw new McpLoopError(`Restate answered with what is not JSON: ${text.slice(0, 200)}`, { code: 'restate', status: response.status });
    }
    if (!response.ok) throw new McpLoopError(body?.message ?? `Restate answered ${response.status}`, { code: 'restate', status: response.status });
    return body;
  };
  const key = (runId) => encodeURIComponent(runId);
  const call = (runId, handler, body = null) => request(`/${name}/${key(runId)}/${handler}`, { method: 'POST', body: JSON.stringify(body) });
  const client = {
    /** Starts a run (idempotent by `runId`); resolves to its id. */
    async start(input, { runId = globalThis.crypto.randomUUID(), traceId, history } = {}) {
      await request(`/${name}/${key(runId)}/run/send`, { method: 'POST', body: JSON.stringify({ input, traceId, history }) });
      return runId;
    },
    /** Waits for the run's result; a failed run rejects with its error's code. */
    async result(runId) {
      try {
        return await request(`/restate/workflow/${name}/${key(runId)}/attach`, { method: 'GET' });
      } catch (error) {
        const run = await client.status(runId).catch(() => null);
        if (run?.error) throw new McpLoopError(run.error.message, { code: run.error.code, status: run.error.status });
        throw error;
      }
    },
    status: (runId) => call(runId, 'status'),
    snapshot: (runId) => call(runId, 'snapshot'),
    /** Events after position `after`: `{ events, next, status }`; pass `next` as the next `after`. */
    events: (runId, { after = 0 } = {}) => call(runId, 'events', { after }),
    /** The calls waiting for a person's decision (empty when none). */
    async pending(runId) {
      return (await client.status(runId)).pending ?? [];
    },
    decide: (runId, decisions) => call(runId, 'decide', decisions),
    cancel: (runId, reason = 'cancelled') => call(runId, 'cancel', reason),
    /** The run's events as they are recorded, polled every `intervalMs`, until the run is over or waits for a
     * person. */
    async *follow(runId, { after = 0, intervalMs = 250, signal } = {}) {
      for (;;) {
        const page = await client.events(runId, { after });
        after = page.next;
        yield* page.events;
        if (['done', 'failed', 'cancelled', 'awaiting_approval'].includes(page.status) || signal?.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
  };
  return client;
}
