// The company's identity provider for the authorization tests: the real, certified `oidc-provider` (v9), in this
// process on 127.0.0.1. Dynamic client registration is open, PKCE is required, and access tokens for a resource
// (RFC 8707 `resource`) are JWTs whose `aud` is that resource. `offline_access` gives refresh tokens. Signing in
// needs no person: `signIn(url)` plays the browser (cookies, redirects), and the interaction pages log in `alice`
// and grant whatever was asked. A pre-registered confidential client (`machine`) may use client credentials.
//
// What it exposes for assertions: `authorizations` (authorization requests that started a sign-in),
// `tokenRequests` (grant type and resource of each successful token request), `secrets()` (every authorization
// code, refresh token and client secret it issued; access tokens are what the resource server saw), `errors`.

import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const USER = 'alice';
export const RESOURCE_SCOPE = 'mcp:tools';

/**
 * Starts the IdP. `accessTokenTtl` (seconds) is short in tests that refresh; `mcpUrl`, when given, is the one
 * resource it issues tokens for (else any http://127.0.0.1 resource, as the server's URL is known later).
 */
export async function startCompanyIdp({ accessTokenTtl = 60, mcpUrl } = {}) {
  const http = createServer();
  await new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${http.address().port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const machine = { clientId: 'machine', clientSecret: randomBytes(24).toString('base64url') };

  const knownResource = (indicator) => (mcpUrl ? indicator === mcpUrl : URL.parse(indicator)?.hostname === '127.0.0.1');
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'company-1', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    clients: [
      {
        client_id: machine.clientId,
        client_secret: machine.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access'],
    ttl: { AccessToken: accessTokenTtl, ClientCredentials: accessTokenTtl, Grant: 3600, Interaction: 600, RefreshToken: 3600, Session: 3600 },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      registration: { enabled: true, issueRegistrationAccessToken: false },
      resourceIndicators: {
        enabled: true,
        // No resource asked for means no JWT for the MCP server: a client that forgets `resource` is caught.
        defaultResource: (ctx, client, oneOf) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          if (!knownResource(indicator)) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          return {
            scope: RESOURCE_SCOPE,
            audience: indicator,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });

  const issued = new Set();
  const tokenRequests = [];
  const failures = [];
  provider.on('authorization_code.saved', (code) => issued.add(code.jti));
  provider.on('refresh_token.saved', (token) => issued.add(token.jti));
  provider.on('registration_create.success', (ctx, client) => client.clientSecret && issued.add(client.clientSecret));
  provider.on('grant.success', (ctx) => {
    const { grant_type: grantType, resource } = ctx.oidc.params;
    tokenRequests.push({ grantType, resource });
  });
  for (const event of ['authorization.error', 'grant.error', 'registration_create.error', 'server_error']) {
    provider.on(event, (ctx, error) => failures.push({ event, error: error.error ?? error.message, description: error.error_description }));
  }

  // The interaction pages: alice logs in, then consents to every scope and resource the client asked for.
  async function interaction(req, res) {
    const { prompt, params } = await provider.interactionDetails(req, res);
    let result;
    if (prompt.name === 'login') {
      result = { login: { accountId: USER } };
    } else {
      const grant = new provider.Grant({ accountId: USER, clientId: params.client_id });
      const { missingOIDCScope = [], missingOIDCClaims = [], missingResourceScopes = {} } = prompt.details;
      if (missingOIDCScope.length) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims.length) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
      result = { consent: { grantId: await grant.save() } };
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
  }

  let authorizations = 0;
  const callback = provider.callback();
  http.on('request', (req, res) => {
    const path = new URL(req.url, issuer).pathname;
    if (path.startsWith('/interaction/')) {
      return interaction(req, res).catch((error) => res.writeHead(500).end(String(error.message)));
    }
    if (path === '/auth') authorizations++;
    callback(req, res);
  });

  /** Plays the person's browser from `authorizationUrl` to the redirect away from the IdP, which it returns. */
  async function signIn(authorizationUrl) {
    const cookies = new Map();
    let url = String(authorizationUrl);
    for (let hop = 0; hop < 10; hop++) {
      const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const at = pair.indexOf('=');
        cookies.set(pair.slice(0, at), pair.slice(at + 1));
      }
      const location = response.headers.get('location');
      if (!location) throw new Error(`sign-in stopped at ${new URL(url).pathname}: HTTP ${response.status} ${(await response.text()).slice(0, 500)}`);
      await response.arrayBuffer();
      url = new URL(location, url).href;
      if (new URL(url).origin !== issuer) return url;
    }
    throw new Error('sign-in redirected too often');
  }

  return {
    issuer,
    machine,
    signIn,
    get authorizations() {
      return authorizations;
    },
    tokenRequests,
    errors: failures,
    secrets: () => [...issued],
    close: async () => {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
