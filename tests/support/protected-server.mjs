// An MCP server (official SDK, Streamable HTTP, stateful sessions) that only the company IdP's access tokens open:
// each request's bearer token must be a JWT signed by the IdP (its JWKS), issued by it, with `aud` = this server's
// URL. Anything else gets 401 and a `WWW-Authenticate` naming its Protected Resource Metadata, which it serves at
// /.well-known/oauth-protected-resource/mcp. Tools: `whoami` (the token's `sub`) and `echo`.
//
// `seen` counts requests by outcome (`accepted`, `unauthorized`) and keeps each distinct access token it was
// given, in order, so a test can tell a refreshed token and look for token values where they must not be.

import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function toolServer() {
  const server = new McpServer({ name: 'hr', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool('whoami', { description: 'Who the caller signed in as.', annotations: { readOnlyHint: true } }, (extra) => ({
    content: [{ type: 'text', text: extra.authInfo.extra.sub }],
  }));
  server.registerTool(
    'echo',
    { description: 'Echoes a message.', inputSchema: { message: z.string().describe('What to echo') }, annotations: { readOnlyHint: true } },
    ({ message }) => ({ content: [{ type: 'text', text: `Echo: ${message}` }] }),
  );
  return server;
}

/** Starts the server on a free port; `issuer` is the IdP's, as its metadata states it. */
export async function startProtectedServer({ issuer, scopes = ['mcp:tools'] }) {
  const metadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const seen = { accepted: 0, unauthorized: 0, tokens: [] };
  const sessions = new Map();
  const http = createServer();
  await new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${http.address().port}`;
  const url = `${origin}/mcp`;
  const metadataPath = '/.well-known/oauth-protected-resource/mcp';

  const json = (res, status, body, headers = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

  /** The verified token's claims, or null (the 401 is already sent). */
  async function authenticate(req, res) {
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    let error = null;
    if (token) {
      if (!seen.tokens.includes(token)) seen.tokens.push(token);
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer: metadata.issuer, audience: url, typ: 'at+jwt' });
        seen.accepted++;
        return { token, payload };
      } catch (e) {
        error = e.code ?? e.message;
      }
    }
    seen.unauthorized++;
    // RFC 6750: a request without a token gets no error code.
    const problem = token ? `error="invalid_token", error_description="${error}", ` : '';
    json(res, 401, { error: 'unauthorized' }, { 'www-authenticate': `Bearer ${problem}resource_metadata="${origin}${metadataPath}"` });
    return null;
  }

  http.on('request', async (req, res) => {
    const path = new URL(req.url, origin).pathname;
    if (path === metadataPath && req.method === 'GET') {
      return json(res, 200, { resource: url, authorization_servers: [metadata.issuer], scopes_supported: scopes, bearer_methods_supported: ['header'] });
    }
    if (path !== '/mcp') return json(res, 404, { error: `no route ${req.method} ${path}` });
    const verified = await authenticate(req, res);
    if (!verified) return;
    const { token, payload } = verified;
    req.auth = { token, clientId: payload.client_id, scopes: String(payload.scope ?? '').split(' '), extra: { sub: payload.sub } };
    const sessionId = req.headers['mcp-session-id'];
    let transport = sessionId && sessions.get(sessionId);
    if (!transport) {
      if (sessionId || req.method !== 'POST') {
        return json(res, sessionId ? 404 : 400, { jsonrpc: '2.0', error: { code: -32000, message: 'no such session' }, id: null });
      }
      const fresh = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, fresh),
      });
      fresh.onclose = () => fresh.sessionId && sessions.delete(fresh.sessionId);
      await toolServer().connect(fresh);
      transport = fresh;
    }
    await transport.handleRequest(req, res);
  });

  return {
    url,
    seen,
    close: async () => {
      for (const transport of [...sessions.values()]) await transport.close().catch(() => {});
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
