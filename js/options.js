// The application's options, turned into the JSON the core reads. The option keys are the core's own list
// (`optionKeys()`): this file adds only what the host itself handles (functions, clients, fetch, TLS).

import { optionKeys } from '../pkg/mcp_loop.js';
import { configError } from './errors.js';
import { clientServer, isClient, localUrl } from './local.js';
import { platform } from './platform.js';
import { memoryStore, tokenKey } from './tokens.js';
import { es256Signer } from './jws.js';
import { fetchTransport } from './fetch.js';

const HANDLER_KINDS = { elicitation: 'elicitation/create', sampling: 'sampling/createMessage', roots: 'roots/list' };
/** Keys the host handles itself, on top of the core's. */
const HOST_AGENT_KEYS = ['handlers', 'fetch', 'callModel'];
const HOST_SERVER_KEYS = ['client', 'tls'];
/** What a `tls` option may hold (Node's TLS options): a private CA, a client certificate. */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername'];
/** Keys of a server the host sets itself: the name is the key in `servers`, the rest follows from functions. */
const SET_BY_HOST = ['name', 'capabilities', 'headersHook'];

let keys;
/** The core's option keys, read once: `{ agent, server, portkey }`. */
function coreKeys() {
  keys ??= JSON.parse(optionKeys());
  return keys;
}

/** Refuses keys of `object` outside `known`, naming the option with `where`. */
function only(object, known, where) {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) throw configError(`unknown option ${where}${key} (known: ${known.join(', ')})`);
  }
}

export function headerPairs(headers, where) {
  if (headers === undefined || headers === null) return undefined;
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return [...headers];
  if (Array.isArray(headers)) return headers;
  if (typeof headers === 'object') return Object.entries(headers);
  throw configError(`${where} must be an object, an array of pairs, a Headers or a function`);
}

export function checkHandlers(handlers = {}) {
  for (const [kind, handler] of Object.entries(handlers)) {
    if (!(kind in HANDLER_KINDS)) throw configError(`unknown handler ${kind} (known: ${Object.keys(HANDLER_KINDS).join(', ')})`);
    if (typeof handler !== 'function') throw configError(`handlers.${kind} must be a function`);
  }
  return handlers;
}

/** The handler for an MCP server request `method` (`elicitation/create`, …), if the application gave one. */
export function handlerFor(handlers, method) {
  const kind = Object.keys(HANDLER_KINDS).find((k) => HANDLER_KINDS[k] === method);
  return kind && handlers[kind];
}

/** An approval policy for the core: a function stays with the host (`approvers`, by server; '' for the agent's)
 * and the core asks it per call (the `host` policy). */
function approvePolicy(approve, key, approvers) {
  // A server's own policy, even a plain one, takes precedence over the agent's function (null: none).
  approvers.set(key, typeof approve === 'function' ? approve : null);
  return typeof approve === 'function' ? 'host' : approve;
}

/**
 * One server's options as the core reads them. What only the host can hold stays here: a `headers` function
 * and an `auth.authorize` function (in `hooks`, by server), an `approve` function (in `approvers`), an MCP client
 * object (in `locals`).
 */
export function serverConfig(name, server, handlers, hooks, approvers = new Map(), locals = new Map()) {
  if (typeof server === 'string') server = { url: server };
  if (isClient(server)) server = { client: server };
  if (!server || typeof server !== 'object') throw configError(`server '${name}' must be a URL, an MCP client or an options object`);
  const known = [...coreKeys().server.filter((k) => !SET_BY_HOST.includes(k)), ...HOST_SERVER_KEYS];
  only(server, known, `servers.${name}.`);
  const { headers, approve, client, tls, ...rest } = server;
  const out = { name, ...rest };
  if (tls !== undefined) hooks.set(name, { ...hooks.get(name), tls: checkTls(tls, `servers.${name}.tls`) });
  if (client !== undefined) {
    // The application's own MCP client, answered in-process (js/local.js); the core talks to it as to a server.
    if (!isClient(client)) throw configError(`servers.${name}.client must have listTools() and callTool()`);
    if (rest.url || rest.command) throw configError(`servers.${name} has a client; it takes no url or command`);
    Object.assign(out, { url: localUrl(name), transport: 'streamable-http', protocol: '2025-11-25' });
    locals.set(name, clientServer(name, client));
  }
  if (approve !== undefined) out.approve = approvePolicy(approve, name, approvers);
  if (rest.auth !== undefined) {
    // The interactive step stays here; the rest is the core's (it checks the keys).
    if (!rest.auth || typeof rest.auth !== 'object') throw configError(`servers.${name}.auth must be an object`);
    const { authorize, storage = memoryStore, privateKey, ...auth } = rest.auth;
    // A private key stays here: the core asks for signatures (private_key_jwt).
    if (privateKey !== undefined) auth.signing = 'ES256';
    if (authorize !== undefined && typeof authorize !== 'function') throw configError(`servers.${name}.auth.authorize must be a function (url) => redirected URL`);
    if (typeof storage?.get !== 'function' || typeof storage?.set !== 'function') throw configError(`servers.${name}.auth.storage must have get(key) and set(key, value)`);
    // Without one, the platform's default: in Node, a listener on a loopback redirect URI.
    const signIn = authorize ?? (typeof auth.redirectUri === 'string' ? platform.signIn?.(auth.redirectUri, name) : null);
    const sign = privateKey === undefined ? undefined : es256Signer(privateKey);
    hooks.set(name, { ...hooks.get(name), authorize: signIn ?? undefined, sign, storage, key: tokenKey(rest.url) });
    out.auth = auth;
  }
  if (typeof headers === 'function') {
    hooks.set(name, { ...hooks.get(name), headers });
    out.headersHook = true;
  } else {
    out.headers = headerPairs(headers, `servers.${name}.headers`);
  }
  const capabilities = {};
  for (const kind of Object.keys(handlers)) capabilities[kind] = true;
  out.capabilities = capabilities;
  return out;
}

/**
 * An agent's options as the core reads them, and what stays with the host: handlers, hooks, approval
 * functions, in-process clients.
 */
export function agentConfig(options) {
  if (!options || typeof options !== 'object') throw configError('createAgent needs an options object');
  if (typeof options.model !== 'string' || !options.model.trim()) throw configError('model is required');
  only(options, [...coreKeys().agent, ...HOST_AGENT_KEYS], '');
  const { servers = {}, portkey = {}, handlers, fetch: _fetch, callModel: _callModel, ...core } = options;
  const host = { handlers: checkHandlers(handlers), hooks: new Map(), approvers: new Map(), locals: new Map() };
  const { tls, ...endpoint } = portkey;
  core.portkey = { ...endpoint, headers: headerPairs(portkey.headers, 'portkey.headers') };
  // The model endpoint's, under '' as everywhere the host keeps something for it.
  if (tls !== undefined) host.hooks.set('', { tls: checkTls(tls, 'portkey.tls') });
  if (typeof servers !== 'object' || Array.isArray(servers)) {
    throw configError('servers must be an object: { name: { url | command, … } }');
  }
  // The agent-wide approval function is kept under the key '' (no server has an empty name).
  if (core.approve !== undefined) core.approve = approvePolicy(core.approve, '', host.approvers);
  core.servers = Object.entries(servers).map(([name, server]) =>
    serverConfig(name, server, host.handlers, host.hooks, host.approvers, host.locals),
  );
  return { core, ...host };
}

/** The approval function for a call to `server`: the server's own, else the agent's. */
export const approverFor = (approvers, server) => (approvers.has(server) ? approvers.get(server) : approvers.get(''));

/** A tool loop's options for the core: the agent options that shape a run, `servers` as per-server policies. */
export function loopOptions(options) {
  if (!options || typeof options !== 'object') throw configError('ToolLoop needs an options object');
  const { servers = {}, approve, ...rest } = options;
  if (typeof approve === 'function') {
    throw configError("ToolLoop takes approve as 'never', 'always' or 'destructive'; decide paused calls with decide()");
  }
  const policies = Object.entries(servers).map(([name, { approve, maxConcurrentCalls } = {}]) => {
    if (typeof approve === 'function') throw configError(`servers.${name}.approve: a function is not possible here; use decide()`);
    return { name, approve, maxConcurrentCalls };
  });
  return JSON.stringify({ ...rest, approve, servers: policies });
}

/** Servers' tools for the core: `{ name: tools[] | { tools, label } }` → `[{ server, label, tools }]`. */
export function listedTools(servers) {
  if (!servers || typeof servers !== 'object') throw configError('tools must be an object: { server: tools[] }');
  return JSON.stringify(
    Object.entries(servers).map(([server, v]) => (Array.isArray(v) ? { server, tools: v } : { server, label: v?.label, tools: v?.tools ?? [] })),
  );
}

/** Decisions as a list `[{ callId, approved, reason? }]`, from that or `{ [callId]: boolean | { approved, reason } }`. */
export function decisionList(decisions = []) {
  const list = Array.isArray(decisions)
    ? decisions
    : Object.entries(decisions).map(([callId, d]) => (typeof d === 'boolean' ? { callId, approved: d } : { callId, ...d }));
  for (const d of list) {
    if (typeof d?.callId !== 'string' || typeof d.approved !== 'boolean') {
      throw configError('decisions must be [{ callId, approved, reason? }] or { [callId]: boolean | { approved, reason? } }');
    }
  }
  return list;
}

/** Decisions as the core takes them: JSON `[{ callId, approved, reason? }]`. */
export const decisionsJson = (decisions) => JSON.stringify(decisionList(decisions));

/** A snapshot as the core takes it: its JSON text. */
export const snapshotText = (snapshot) => (typeof snapshot === 'string' ? snapshot : JSON.stringify(snapshot));

function checkTls(tls, where) {
  if (!tls || typeof tls !== 'object') throw configError(`${where} must be an object ({ ca, cert, key, … })`);
  only(tls, TLS_KEYS, `${where}.`);
  return tls;
}

/**
 * How requests go out: the platform's own transport (Node's `node:http`), unless the application passes a
 * `fetch`; in browsers, `fetch`. TLS options need the platform's transport.
 */
export function pickTransport(options, hooks) {
  if (options.fetch === undefined && platform.transport) return platform.transport;
  for (const [name, hook] of hooks) {
    if (hook.tls) {
      const where = name ? `servers.${name}.tls` : 'portkey.tls';
      throw configError(`${where} needs Node's own HTTP client: not possible with options.fetch or in a browser (there, the system's certificates apply)`);
    }
  }
  const fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof fetch !== 'function') throw configError('no fetch available: pass options.fetch');
  return fetchTransport(fetch);
}

/** Random bytes for the core, which draws none itself; `crypto.getRandomValues` works in insecure (plain http
 * intranet) pages too. */
export function entropy() {
  return globalThis.crypto.getRandomValues(new Uint8Array(16));
}
