// Node's own HTTP client for the core's requests: `node:http`/`node:https` with keep-alive agents, each response
// body handed on chunk by chunk as it arrives. undici's `fetch` costs more CPU per request than the rest of a turn
// together; this is what the Node entry and the CLI use unless the application passes its own `fetch`.

import { builtin } from './builtin.js';

const http = builtin('node:http');
const https = () => builtin('node:https');
const zlib = () => builtin('node:zlib');

/** Redirects followed before giving up, as fetch does. */
const MAX_REDIRECTS = 20;
/** Headers a redirect to another origin does not carry (fetch and reqwest drop them too). */
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];

const DECODERS = {
  gzip: () => zlib().createGunzip(),
  'x-gzip': () => zlib().createGunzip(),
  deflate: () => zlib().createInflate(),
  br: () => zlib().createBrotliDecompress(),
};

/**
 * A transport: `(request, signal, tls?) → { status, headers: [[name, value]], body: AsyncIterable<Uint8Array> }`.
 * One keep-alive agent for plain HTTP and one per TLS configuration (a server's `tls` object); Node's agents
 * pool sockets per origin, and their idle sockets do not keep the process alive.
 */
export function nodeTransport() {
  const plain = new http.Agent({ keepAlive: true });
  let secure = null;
  const configured = new WeakMap();
  const agentFor = (url, tls) => {
    if (url.protocol === 'http:') return plain;
    if (!tls) return (secure ??= new (https().Agent)({ keepAlive: true }));
    let agent = configured.get(tls);
    if (!agent) configured.set(tls, (agent = new (https().Agent)({ keepAlive: true, ...tls })));
    return agent;
  };
  return (request, signal, tls) => send(request, signal, tls, agentFor, 0);
}

/** A body as the host reads it; `return()` closes the connection even before the first read. */
function chunksOf(stream, res) {
  const iterator = stream[Symbol.asyncIterator]();
  const chunks = {
    next: () => iterator.next(),
    return: () => {
      res.destroy();
      stream.destroy();
      return Promise.resolve({ done: true });
    },
    [Symbol.asyncIterator]: () => chunks,
  };
  return chunks;
}

/** Certificates the client did not trust: most often a server behind a private CA. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/** An error trying again cannot mend: the core gives up at once instead of retrying until its deadline. */
const lasting = (error) => Object.assign(error, { lasting: true });

/**
 * A failed request, told by its code alone: Node's messages carry the address or the host name, and an MCP
 * error's text may reach the model. Aborts stay as they are (the host ignores them).
 */
function described(error) {
  if (error?.name === 'AbortError' || !error?.code) return error;
  const code = error.code;
  if (UNTRUSTED.has(code)) return lasting(new Error(`the server's certificate is not trusted (${code}); for a private CA give it as tls.ca`));
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return lasting(new Error(`the server's certificate is for another name (${code})`));
  if (code === 'CERT_HAS_EXPIRED') return lasting(new Error(`the server's certificate has expired (${code})`));
  return new Error(`the request failed (${code})`);
}

function send({ method, url, headers, body }, signal, tls, agentFor, redirects) {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return Promise.reject(lasting(new TypeError(`unsupported URL scheme ${target.protocol}`)));
  }
  if (signal.aborted) return Promise.reject(signal.reason);
  const client = target.protocol === 'http:' ? http : https();
  const bytes = body == null ? null : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // An object, repeated names joined as fetch joins them (Node 20 drops a request given a flat header list).
  const head = {};
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    head[lower] = lower in head ? `${head[lower]}, ${value}` : value;
  }
  if (bytes) head['content-length'] = String(bytes.length);
  return new Promise((resolve, reject) => {
    // The signal is not given to Node: the agent would tie it to the socket, which outlives this request in the
    // pool, and a later abort would destroy it under another request.
    const req = client.request(target, { method, headers: head, agent: agentFor(target, tls) });
    // A response already read to its end leaves its socket alone: it is back in the pool.
    const abort = () => (req.res ? req.res.complete || req.res.destroy() : req.destroy(signal.reason));
    signal.addEventListener('abort', abort, { once: true });
    req.on('close', () => signal.removeEventListener('abort', abort));
    req.on('error', (error) => reject(described(error)));
    req.on('response', (res) => {
      const location = res.headers.location;
      if (location && [301, 302, 303, 307, 308].includes(res.statusCode)) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new TypeError('too many redirects'));
        const next = new URL(location, target);
        // As fetch: 303, and 301/302 after a POST, become a GET without a body.
        const get = res.statusCode === 303 || (method === 'POST' && res.statusCode < 303);
        const kept = headers.filter(([name]) => {
          const lower = name.toLowerCase();
          if (get && lower.startsWith('content-')) return false;
          return next.origin === target.origin || !CREDENTIALS.includes(lower);
        });
        const again = { method: get && method !== 'HEAD' ? 'GET' : method, url: next.href, headers: kept, body: get ? null : body };
        return resolve(send(again, signal, tls, agentFor, redirects + 1));
      }
      const pairs = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
      const decode = DECODERS[String(res.headers['content-encoding'] ?? '').trim().toLowerCase()];
      const stream = decode ? res.pipe(decode()) : res;
      // A reset mid-body ends the reading with its error; one that comes while nobody reads (an abort before
      // the first read) must not be an uncaught one.
      res.on('error', (error) => decode && stream.destroy(error));
      stream.on('error', () => {});
      resolve({ status: res.statusCode, headers: pairs, body: chunksOf(stream, res) });
    });
    req.end(bytes ?? undefined);
  });
}
