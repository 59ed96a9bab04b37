// The page side of the module Web Worker: it waits for the worker's `ready` before it posts the question (a
// message posted before the worker listens is lost), then shows the worker's answer.
import { question } from './agent.js';

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.addEventListener('error', (event) => (window.__result = { ok: false, error: { message: `worker error: ${event.message}` } }));
worker.addEventListener('message', ({ data }) => {
  if (data.type === 'ready') worker.postMessage({ type: 'ask', question: question() });
  else window.__result = data; // { type: 'answer' | 'failed', ok, result | error }
});
