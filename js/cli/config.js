// What the command line, the environment and an `mcpServers` file say, as the agent's options.
//
// The file format is the one Claude Desktop, Cursor and VS Code use (VS Code names the key `servers`):
//   { "mcpServers": { "NAME": { "command", "args", "env", "cwd" }            a stdio server
//                     "NAME": { "url", "headers", "type": "http" | "sse" | "streamable-http" } } }
// `${env:NAME}` and `${NAME}` in any string take the variable's value; `"disabled": true` leaves a server out; other
// keys are the agent's own server options (`timeoutMs`, `allowTools`, `approve`, …), which the agent checks, except
// that `tls`'s `ca`, `cert`, `key` and `pfx` name files (relative to the config file) rather than hold their text.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { splitCommand } from './args.js';
import { inputError, usageError } from './exit.js';
import { readText } from './input.js';
import { fileTokenStore, tokensPath } from '../filestore.js';

/** The flags that name servers, shared by `run` and `tools`. */
export const SERVER_FLAGS = {
  config: { type: 'string' },
  server: { type: 'string', multiple: true },
  stdio: { type: 'string', multiple: true },
  header: { type: 'string', multiple: true },
  'sign-in-port': { type: 'string' },
  tokens: { type: 'string' },
};

/** The loopback port a sign-in's redirect comes back to, unless `--sign-in-port` or `MCP_LOOP_SIGN_IN_PORT` says. */
const SIGN_IN_PORT = 8765;

/** The flags that say how the model is reached. */
export const MODEL_FLAGS = {
  model: { type: 'string' },
  instructions: { type: 'string' },
  'base-url': { type: 'string' },
  provider: { type: 'string' },
  'custom-host': { type: 'string' },
  'config-id': { type: 'string' },
};

const DEFAULT_MODEL = 'gpt-4.1-mini';

/** `type` in a file → the agent's `transport` (`http` is VS Code's: Streamable HTTP, falling back to SSE). */
const TRANSPORTS = { http: undefined, 'streamable-http': 'streamable-http', sse: 'sse' };

/** The servers the flags name, as the agent's `servers` option, in order: the file's, then --server, then --stdio. */
export async function serversFrom(flags, env = process.env) {
  const servers = flags.config ? fileServers(await readText(flags.config), flags.config, env) : {};
  const add = (name, server, flag) => {
    if (!name) throw usageError(`${flag}: expected NAME=…`);
    if (name in servers) throw inputError(`server '${name}' is given twice`);
    servers[name] = server;
  };
  // The messages never repeat a value: a URL, a command line or a header may carry a credential.
  for (const spec of flags.server ?? []) {
    const [name, url] = splitAt(spec, '=');
    if (!url) throw usageError('--server: expected NAME=URL');
    add(name, { url }, '--server');
  }
  for (const spec of flags.stdio ?? []) {
    const [name, line] = splitAt(spec, '=');
    const words = splitCommand(line ?? '');
    if (!words) throw usageError(`--stdio ${name}: the command has an unterminated quote`);
    if (!words.length) throw usageError('--stdio: expected NAME="COMMAND ARGS"');
    add(name, { command: words[0], args: words.slice(1) }, '--stdio');
  }
  for (const spec of flags.header ?? []) {
    const [name, header] = splitAt(spec, ':');
    const [key, value] = splitAt(header ?? '', '=');
    if (!servers[name]?.url || !key || value === undefined) {
      throw usageError(`--header${servers[name] ? ` for '${name}'` : ''}: expected SERVER:HEADER=VALUE for an HTTP server`);
    }
    servers[name].headers = { ...servers[name].headers, [key]: value };
  }
  return withSignIn(servers, flags, env);
}

/**
 * Every HTTP server without `auth` of its own may ask for a sign-in: the URL is printed on stderr, a loopback
 * listener takes the redirect, and the tokens are kept in the token file for the next run.
 */
function withSignIn(servers, flags, env) {
  const port = Number(flags['sign-in-port'] ?? env.MCP_LOOP_SIGN_IN_PORT ?? SIGN_IN_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usageError('--sign-in-port must be a port number');
  const storage = fileTokenStore(tokensPath(flags.tokens, env));
  for (const server of Object.values(servers)) {
    if (server.url && !server.auth) server.auth = { redirectUri: `http://127.0.0.1:${port}/callback`, clientName: 'mcp-loop CLI', storage };
  }
  return servers;
}

const splitAt = (text, separator) => {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
};

/** The JSON of a file; what is wrong says where, never what the file holds there (V8 quotes the text). */
function parseJson(text, file) {
  try {
    return JSON.parse(text);
  } catch (error) {
    const at = Number(error.message.match(/at position (\d+)/)?.[1] ?? NaN);
    const before = text.slice(0, at).split('\n');
    const where = Number.isNaN(at) ? '' : ` (line ${before.length}, column ${before.at(-1).length + 1})`;
    throw inputError(`${file} is not JSON${where}`);
  }
}

/** The servers of an `mcpServers` file's text. */
export function fileServers(text, file, env = process.env) {
  const json = parseJson(text, file);
  const entries = json?.mcpServers ?? json?.servers;
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) {
    throw inputError(`${file} has no "mcpServers" (or "servers") object`);
  }
  const servers = {};
  for (const [name, entry] of Object.entries(entries)) {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw inputError(`server '${name}' in ${file} must be an object`);
    if (entry.disabled === true) continue;
    const server = serverOptions(name, expand(entry, name, env));
    if (server.tls) server.tls = tlsFiles(name, server.tls, file);
    servers[name] = server;
  }
  return servers;
}

/** The `tls` options whose values in a file are file names: PEM (PKCS#12 for `pfx`), or a list of them. */
const TLS_FILES = ['ca', 'cert', 'key', 'pfx'];

/** A server's `tls` with its files read; where a file is wrong says which option, never what the file holds. */
function tlsFiles(name, tls, file) {
  if (typeof tls !== 'object' || Array.isArray(tls)) return tls; // the agent says what is wrong with it
  const read = (key, path) => {
    if (typeof path !== 'string') throw inputError(`server '${name}': tls.${key} must name a file (or a list of files)`);
    try {
      return readFileSync(resolve(dirname(file), path));
    } catch (error) {
      throw inputError(`server '${name}': the file of tls.${key} cannot be read (${error.code ?? error.name})`);
    }
  };
  const withFiles = { ...tls };
  for (const key of TLS_FILES.filter((k) => k in tls)) withFiles[key] = Array.isArray(tls[key]) ? tls[key].map((p) => read(key, p)) : read(key, tls[key]);
  return withFiles;
}

/** One file entry as the agent's server options. */
function serverOptions(name, { type, disabled: _, ...rest }) {
  if (type === undefined) return rest;
  if (type === 'stdio') {
    if (rest.url !== undefined) throw inputError(`server '${name}' has type "stdio" and a url`);
    return rest;
  }
  if (!Object.hasOwn(TRANSPORTS, type)) throw inputError(`server '${name}' has an unknown type (known: stdio, http, streamable-http, sse)`);
  if (rest.command !== undefined) throw inputError(`server '${name}' has type "${type}" and a command`);
  return TRANSPORTS[type] ? { transport: TRANSPORTS[type], ...rest } : rest;
}

/** `value` with `${env:NAME}` and `${NAME}` replaced in every string; an unset variable is an error naming it. */
function expand(value, server, env) {
  if (typeof value === 'string') {
    return value.replace(/\$\{([^}]*)\}/g, (_, reference) => {
      const match = reference.match(/^(?:env:)?([A-Za-z_][A-Za-z0-9_]*)$/);
      if (!match) throw inputError(`server '${server}': \${${reference}} is not supported (only \${env:NAME} and \${NAME})`);
      if (env[match[1]] === undefined) throw inputError(`server '${server}': the environment variable ${match[1]} is not set`);
      return env[match[1]];
    });
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, server, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, server, env)]));
  return value;
}

/** The agent's options besides `servers`: the model and how it is reached. Flags win over the environment. */
export function modelOptions(flags, env = process.env) {
  const given = (name) => (env[name] ? env[name] : undefined);
  const portkey = {
    baseURL: flags['base-url'] ?? given('PORTKEY_BASE_URL'),
    apiKey: given('PORTKEY_API_KEY'),
    provider: flags.provider ?? given('PORTKEY_PROVIDER'),
    // A provider on the command line replaces a virtual key from the environment (the two do not go together).
    virtualKey: flags.provider ? undefined : given('PORTKEY_VIRTUAL_KEY'),
    config: flags['config-id'] ?? given('PORTKEY_CONFIG'),
    customHost: flags['custom-host'] ?? given('PORTKEY_CUSTOM_HOST'),
    authorization: given('OPENAI_API_KEY') && `Bearer ${given('OPENAI_API_KEY')}`,
  };
  for (const key of Object.keys(portkey)) if (portkey[key] === undefined) delete portkey[key];
  const options = { model: flags.model ?? given('MCP_LOOP_MODEL') ?? DEFAULT_MODEL, portkey };
  if (flags.instructions !== undefined) options.instructions = flags.instructions;
  return options;
}

/**
 * What must never be printed: the keys of the model side, and each server's URL (and origin), header and env
 * values. Each value also in its JSON-escaped form, for JSON output. Values under 4 characters are left alone:
 * hiding them would garble every message.
 */
export function secretsOf({ portkey = {}, servers = {} }) {
  const values = [portkey.apiKey, portkey.virtualKey, portkey.authorization?.replace(/^Bearer /, '')];
  for (const server of Object.values(servers)) {
    if (typeof server.url === 'string') values.push(server.url, URL.canParse(server.url) ? new URL(server.url).origin : undefined);
    for (const map of [server.headers, server.env]) if (map && typeof map === 'object') values.push(...Object.values(map));
    values.push(server.tls?.passphrase);
  }
  const strings = values.filter((v) => typeof v === 'string' && v.length >= 4);
  return [...new Set(strings.flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]))].sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced by `***`. */
export const redact = (text, secrets) => secrets.reduce((out, secret) => out.replaceAll(secret, '***'), String(text));
