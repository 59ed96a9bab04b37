// A minimal MCP server that is also its own authorization server, for tests of what the application meets
// (the real ones are oidc-provider in company-idp.mjs and the conformance suite): resource and server metadata,
// registration, an authorization endpoint that redirects at once (nobody to log in), a token endpoint, and an
// MCP endpoint that takes only its one token. With `cors`, it answers pages from any origin and exposes
// `WWW-Authenticate` (without which a page cannot read the challenge).
import { createServer } from 'node:http';

export const TOKEN = 'at-7f3c9e1d2b';

/** Resolves to `{ url (the MCP endpoint), base, authorizations, close() }`. */
export async function startTinyOAuth({ cors = false } = {}) {
  let base;
  const stats = { authorizations: 0 };
  const corsHeaders = cors
    ? { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*', 'access-control-expose-headers': 'www-authenticate, mcp-session-id' }
    : {};
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const json = (status, body, headers = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...corsHeaders, ...headers }).end(JSON.stringify(body));
    if (req.method === 'OPTIONS') return res.writeHead(204, { ...corsHeaders, 'access-control-allow-methods': '*' }).end();
    const url = new URL(req.url, base);
    switch (url.pathname) {
      case '/.well-known/oauth-protected-resource/mcp':
        return json(200, { resource: `${base}/mcp`, authorization_servers: [base] });
      case '/.well-known/oauth-authorization-server':
        return json(200, {
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          registration_endpoint: `${base}/register`,
          code_challenge_methods_supported: ['S256'],
        });
      case '/register':
        return json(201, { client_id: 'c1' });
      case '/authorize': {
        stats.authorizations++;
        const back = new URL(url.searchParams.get('redirect_uri'));
        back.searchParams.set('code', 'code-1');
        back.searchParams.set('state', url.searchParams.get('state'));
        return res.writeHead(302, { location: back.href }).end();
      }
      case '/token':
        return json(200, { access_token: TOKEN, token_type: 'Bearer' });
      case '/mcp': {
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          return json(401, { error: 'invalid_token' }, { 'www-authenticate': `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"` });
        }
        const message = JSON.parse(Buffer.concat(chunks));
        if (!('id' in message)) return res.writeHead(202, corsHeaders).end();
        const result =
          message.method === 'initialize'
            ? { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'guarded', version: '1' } }
            : { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] };
        return json(200, { jsonrpc: '2.0', id: message.id, result });
      }
      default:
        return json(404, {});
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: `${base}/mcp`,
    base,
    stats,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
}
