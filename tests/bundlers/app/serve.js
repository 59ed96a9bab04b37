// The worker side of the handshake: listen first, then load the core (`init(options)`), then tell the page
// `ready`. Every question the page posts after that gets one answer.
import { ask, outcome } from './agent.js';

export function serve({ createAgent, init }, options) {
  self.addEventListener('message', async ({ data }) => {
    if (data?.type === 'ask') self.postMessage({ type: 'answer', ...(await outcome(ask(createAgent, data.question))) });
  });
  outcome(init(options)).then(({ ok, error }) => self.postMessage(ok ? { type: 'ready' } : { type: 'failed', ok, error }));
}
