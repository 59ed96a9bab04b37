// Node's default for the person's part of an authorization: a listener on the loopback redirect URI, the
// authorization URL printed on stderr for the person to open, and the redirect it receives as the answer.
import { builtin } from './builtin.js';

const { createServer } = builtin('node:http');

/** How long the listener waits for the person to come back. */
const SIGN_IN_WAIT_MS = 5 * 60_000;

/**
 * The `authorize(url)` for `redirectUri` (a loopback `http://127.0.0.1:PORT/…` or `http://localhost:PORT/…`), or
 * `null` for any other URI (the application must give its own).
 */
export function loopbackSignIn(redirectUri, server) {
  let target;
  try {
    target = new URL(redirectUri);
  } catch {
    return null;
  }
  if (target.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname) || !target.port) return null;
  return (url) =>
    new Promise((resolve, reject) => {
      const listener = createServer((req, res) => {
        const at = new URL(req.url, redirectUri);
        if (at.pathname !== target.pathname) return res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`Signed in to ${server}. You can close this window.\n`);
        finish(() => resolve(`${target.origin}${req.url}`));
      });
      const timer = setTimeout(() => finish(() => reject(new Error(`nobody signed in to ${server} within ${SIGN_IN_WAIT_MS / 60_000} minutes`))), SIGN_IN_WAIT_MS);
      timer.unref?.();
      const finish = (settle) => {
        clearTimeout(timer);
        listener.close();
        listener.closeAllConnections?.();
        settle();
      };
      listener.on('error', (error) => finish(() => reject(new Error(`cannot listen on ${target.host} for the sign-in redirect (${error.code ?? error.message})`))));
      listener.listen(Number(target.port), target.hostname.replace(/^\[|\]$/g, ''), () => {
        process.stderr.write(`mcp-loop: to sign in to ${server}, open this URL in a browser:\n${url}\n`);
      });
    });
}
