// Where authorization states (tokens, registrations) are kept between agents: the application's `auth.storage`
// ({ get(key), set(key, value) }, sync or async), else this process's memory. States hold secrets: a store
// must keep them as it keeps passwords.

const memory = new Map();

/** The default store: this process (or page) only. */
export const memoryStore = {
  get: (key) => memory.get(key),
  set: (key, value) => void memory.set(key, value),
};

/** The key of a server's state: its URL without query or fragment (a query may hold a secret). */
export function tokenKey(url) {
  try {
    const { origin, pathname } = new URL(url);
    return `mcp-loop/auth ${origin}${pathname}`;
  } catch {
    return `mcp-loop/auth ${url}`;
  }
}
