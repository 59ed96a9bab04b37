// A page's default for the person's part of an authorization: the authorization URL in a popup, and the popup's
// address once it is back on this page's origin (the redirect URI must be a page of this origin: only then can
// the page read where the popup went).

/** How long the popup may stay open. */
const SIGN_IN_WAIT_MS = 5 * 60_000;
const POLL_MS = 100;

/** The `authorize(url)` for `redirectUri` in a window context, or `null` (a worker, another origin). */
export function popupSignIn(redirectUri, server) {
  if (typeof window === 'undefined' || typeof window.open !== 'function') return null;
  let target;
  try {
    target = new URL(redirectUri, window.location.href);
  } catch {
    return null;
  }
  if (target.origin !== window.location.origin) return null;
  return (url) =>
    new Promise((resolve, reject) => {
      const popup = window.open(url, `mcp-loop-sign-in-${server}`, 'popup,width=520,height=680');
      if (!popup) return reject(new Error(`the browser blocked the sign-in window for ${server}: sign in from a click, or give auth.authorize`));
      const started = Date.now();
      const timer = setInterval(() => {
        let href;
        try {
          href = popup.location.href; // throws while the popup is at the authorization server (another origin)
        } catch {}
        const back = href && href.split(/[?#]/)[0] === target.href.split(/[?#]/)[0];
        const closed = popup.closed;
        if (back || closed || Date.now() - started > SIGN_IN_WAIT_MS) {
          clearInterval(timer);
          if (!closed) popup.close();
          if (back) resolve(href);
          else reject(new Error(closed ? 'the sign-in window was closed' : 'nobody signed in within 5 minutes'));
        }
      }, POLL_MS);
    });
}
