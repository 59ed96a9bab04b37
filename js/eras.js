// The HTTP MCP servers that answered with the handshake, by origin and path, for the life of the page or
// process. Their next connections skip the stateless probe (`server/discover`), a request such a server
// refuses: one round trip, and in a browser a red 400 in the console, every time. Only servers left at
// `protocol: 'auto'` use it; a connection that fails forgets it, so the next one probes again.

const handshake = new Set();

/** Origin and path: the same endpoint whatever the query, which may hold a secret and is not kept. */
function endpoint(url) {
  try {
    const { origin, pathname } = new URL(url);
    return origin + pathname;
  } catch {
    return null;
  }
}

/**
 * Sets `protocol: 'handshake'` on the servers (core configs) known to speak it, and returns `name → url` of every
 * server whose era is found out here (HTTP and `auto`), for `learn`.
 */
export function applyKnownEras(servers) {
  const watched = new Map();
  for (const server of servers) {
    if (!server.url || (server.protocol ?? 'auto') !== 'auto') continue;
    if (handshake.has(endpoint(server.url))) server.protocol = 'handshake';
    watched.set(server.name, server.url);
  }
  return watched;
}

/** What an output of the core tells about a watched server's era: a connection, or a failure. */
export function learn(watched, out) {
  if (out.type === 'event' && out.event.type === 'serverConnected') {
    const key = endpoint(watched.get(out.event.server));
    if (!key) return;
    if (out.event.protocolVersion === '2026-07-28') handshake.delete(key);
    else handshake.add(key);
  } else if (out.error?.server !== undefined) {
    handshake.delete(endpoint(watched.get(out.error.server)));
  }
}
