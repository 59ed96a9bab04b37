//! One MCP server's authorization (the MCP authorization spec, OAuth 2.1): from the server's challenge to an
//! access token. Sans-IO: it asks for HTTP requests and for the one interactive step (a person opening the
//! authorization URL), and is told their outcomes.
//!
//! Driving contract: after [`AuthClient::handle_challenge`] (the server answered 401, or 403 with
//! `insufficient_scope`) and after every `handle_*`, drain [`AuthClient::poll_output`] until it returns `None`.
//! It gives [`AuthOutput::Http`] requests (answer each with `handle_response` or `handle_error`),
//! [`AuthOutput::Authorize`] (open the URL; give the URL the browser was redirected to to `handle_redirect`),
//! and ends with [`AuthOutput::Authorized`] or [`AuthOutput::Failed`].
//!
//! The flow: Protected Resource Metadata (the challenge's `resource_metadata`, else the path-aware then the root
//! well-known URL; none at all means a 2025-03-26 server, whose own origin is the authorization server), the
//! authorization server's metadata (issuer checked to the letter, PKCE S256 required), the client's identity
//! (pre-registered, a Client ID Metadata Document, or Dynamic Client Registration), the authorization request
//! with PKCE, `state` and the resource indicator, the redirect (`state` and RFC 9207 `iss` checked), and the
//! token request with the token endpoint's client authentication. A 403 `insufficient_scope` asks again for the
//! union of the granted and the challenged scopes, at most [`MAX_AUTHORIZATIONS`] times in a row. A 401 after a
//! grant with a refresh token refreshes it first (once until the server takes a token). Machines use client
//! credentials; enterprise-managed authorization trades the person's ID token at the company IdP ([`Grant`]).

use super::challenge::Challenge;
use super::config::{AuthConfig, Grant};
use super::metadata::{ResourceMetadata, ServerMetadata, resource_metadata_urls, server_metadata_urls};
use crate::base::http::HttpRequest;
use crate::base::queue::Queue;
use crate::base::sha256::sha256;
use crate::base::text::base64;
use crate::base::url::{form, form_encode, origin, query_pairs};
use serde_json::{Value, json};

/// Authorizations in a row without the server accepting a token; then the client gives up.
pub const MAX_AUTHORIZATIONS: u32 = 3;

/// What the client needs done. Its `{:?}` shows no token.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthOutput {
    /// Perform this request; answer with `handle_response` or `handle_error` and this id.
    Http {
        /// Names the answer.
        id: u64,
        /// What to send.
        request: HttpRequest,
    },
    /// Let the person open this URL (a browser, a popup, `chrome.identity.launchWebAuthFlow`); give the URL the
    /// authorization server redirected to (the `redirect_uri` with its query) to `handle_redirect`.
    Authorize {
        /// The authorization request.
        url: String,
    },
    /// Send `Authorization: Bearer <access_token>` on every request to the server from now on.
    Authorized {
        /// The token: a secret, for the server's requests only.
        access_token: String,
        /// A new refresh token, if the grant gave one: a secret too (kept by the client, named for redaction).
        refresh_token: Option<String>,
    },
    /// Sign `input` (a JWT's header and claims, `private_key_jwt`) with the client's key; answer with
    /// `handle_signature` and the signature, base64url.
    Sign {
        /// The JWS signing input.
        input: String,
    },
    /// Authorization failed; the message names no credential.
    Failed(String),
}

impl std::fmt::Debug for AuthOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthOutput::Http { id, request } => {
                f.debug_struct("Http").field("id", id).field("request", request).finish()
            }
            AuthOutput::Authorize { .. } => f.write_str("Authorize"),
            AuthOutput::Authorized { .. } => f.write_str("Authorized"),
            AuthOutput::Sign { .. } => f.write_str("Sign"),
            AuthOutput::Failed(message) => f.debug_tuple("Failed").field(message).finish(),
        }
    }
}

/// The client as the authorization server knows it.
#[derive(Debug, Clone, PartialEq)]
struct Identity {
    client_id: String,
    client_secret: Option<String>,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    method: String,
    /// The authorization server it is registered with: another one needs another registration.
    issuer: String,
    /// Made by a registration here (dropped when the authorization server changes).
    registered: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Idle,
    ResourceMetadata {
        urls: Vec<String>,
        at: usize,
    },
    ServerMetadata {
        issuer: String,
        urls: Vec<String>,
        at: usize,
    },
    Registering,
    Authorizing {
        verifier: String,
        state: String,
        scope: Option<String>,
    },
    /// The ID token is exchanged at the IdP for an ID-JAG.
    ExchangingIdentity,
    /// A refresh token is traded for a new access token.
    Refreshing,
    /// The host signs the client's assertion; the token request waits with its form and what it is for.
    Signing {
        input: String,
        pairs: Vec<(&'static str, String)>,
        scope: Option<String>,
        refreshing: bool,
    },
    Exchanging {
        scope: Option<String>,
    },
    Done,
}

/// One MCP server's authorization; see the module docs for the contract.
pub struct AuthClient {
    config: AuthConfig,
    server_url: String,
    seed: [u8; 32],
    drawn: u64,
    challenge: Challenge,
    resource: Option<ResourceMetadata>,
    server: Option<ServerMetadata>,
    identity: Option<Identity>,
    granted_scope: Option<String>,
    /// The access token of the last grant (a secret), for [`AuthClient::stored`].
    access_token: Option<String>,
    /// The refresh token of the last grant, while it may still serve (a secret).
    refresh_token: Option<String>,
    /// A refresh since the server last took a token: another 401 then means a full sign-in, not a loop.
    refreshed: bool,
    /// The time of the latest input (for a signed assertion's `iat` and `exp`, and the token's expiry).
    now_ms: u64,
    /// When the access token expires and how long it was given for, when the grant said (`expires_in`).
    expires: Option<(u64, u64)>,
    authorizations: u32,
    step: Step,
    next_id: u64,
    /// The request out, if any: answers for other ids are not this client's.
    waiting: Option<u64>,
    out: Queue<AuthOutput>,
}

impl AuthClient {
    /// A client for the MCP server at `server_url`. `seed` is random bytes from the host: the PKCE verifiers and
    /// `state` values are drawn from it.
    pub fn new(config: AuthConfig, server_url: &str, seed: [u8; 32]) -> AuthClient {
        AuthClient {
            config,
            server_url: server_url.to_owned(),
            seed,
            drawn: 0,
            challenge: Challenge::default(),
            resource: None,
            server: None,
            identity: None,
            granted_scope: None,
            access_token: None,
            refresh_token: None,
            refreshed: false,
            now_ms: 0,
            expires: None,
            authorizations: 0,
            step: Step::Idle,
            next_id: 1,
            waiting: None,
            out: Queue::new(),
        }
    }

    /// The server refused a request: `status` 401 (no or a rejected token) or 403, with the values of its
    /// `WWW-Authenticate` headers. Starts (or restarts) authorization; ignored while one is under way.
    pub fn handle_challenge<'a>(&mut self, status: u16, www_authenticate: impl IntoIterator<Item = &'a str>) {
        if !matches!(self.step, Step::Idle | Step::Done) {
            return;
        }
        let challenge = Challenge::parse(www_authenticate).unwrap_or_default();
        if status == 403 && challenge.error.as_deref() != Some("insufficient_scope") {
            return self.fail("the server refused access (HTTP 403) without asking for a scope".into());
        }
        if self.authorizations >= MAX_AUTHORIZATIONS {
            let scope = challenge.scope.as_deref().unwrap_or("none named");
            let message = format!(
                "the server still refuses the token after {MAX_AUTHORIZATIONS} authorizations (scope asked for: {scope})"
            );
            return self.fail(message);
        }
        // An expired or revoked token: a refresh token, if there is one, gets a new one without anybody.
        if status == 401 && self.server.is_some() && self.identity.is_some() && !self.refreshed {
            self.challenge = challenge.clone();
            if self.refresh() {
                self.refreshed = true;
                return;
            }
        }
        self.challenge = challenge;
        // Always discovered again: the server may have moved to another authorization server.
        self.restart();
    }

    /// What a later client for the same server may start from (see [`AuthClient::restore`]): the client's
    /// registration, the tokens, the granted scope. Secrets: for the application's token storage only. `None`
    /// before a token was granted.
    pub fn stored(&self) -> Option<Value> {
        let (Some(identity), Some(server), Some(access_token)) = (&self.identity, &self.server, &self.access_token)
        else {
            return None;
        };
        Some(json!({
            "version": 1,
            "issuer": server.issuer,
            "tokenEndpoint": server.token_endpoint,
            "resource": self.resource.as_ref().map(|r| r.resource.clone()),
            "clientId": identity.client_id,
            "clientSecret": identity.client_secret,
            "method": identity.method,
            "registered": identity.registered,
            "accessToken": access_token,
            "refreshToken": self.refresh_token,
            "scope": self.granted_scope,
            "expires": self.expires.map(|(at, lifetime)| json!([at, lifetime])),
        }))
    }

    /// Starts from what [`AuthClient::stored`] gave (an earlier process, another agent): returns the access token
    /// to send, or `None` when `stored` is not such a state (it is then ignored: the client signs in anew). The
    /// state is trusted only for this server: its resource must still cover the server's URL.
    pub fn restore(&mut self, stored: &Value) -> Option<String> {
        let text = |key: &str| stored.get(key).and_then(Value::as_str).map(str::to_owned);
        if stored.get("version").and_then(Value::as_u64) != Some(1) {
            return None;
        }
        let (issuer, token_endpoint, client_id, method) =
            (text("issuer")?, text("tokenEndpoint")?, text("clientId")?, text("method")?);
        let access_token = text("accessToken")?;
        let resource = match text("resource") {
            Some(resource) => {
                let doc = json!({"resource": resource, "authorization_servers": [issuer]});
                Some(ResourceMetadata::read(&doc, &self.server_url).ok()?)
            }
            None => None,
        };
        let registered = stored.get("registered") == Some(&Value::Bool(true));
        self.identity = Some(Identity {
            client_id,
            client_secret: text("clientSecret"),
            method,
            issuer: issuer.clone(),
            registered,
        });
        self.server = Some(ServerMetadata { issuer, token_endpoint, ..ServerMetadata::default() });
        self.resource = resource;
        self.refresh_token = text("refreshToken");
        self.granted_scope = text("scope");
        self.expires = stored.get("expires").and_then(|e| Some((e.get(0)?.as_u64()?, e.get(1)?.as_u64()?)));
        self.access_token = Some(access_token.clone());
        self.step = Step::Done;
        Some(access_token)
    }

    /// Refreshes the token ahead of its expiry (within a minute of it, or half its lifetime for a short one), when
    /// the grant gave a refresh token and nothing else is under way: requests never meet an expired token then.
    pub fn refresh_if_due(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        let due = self.expires.is_some_and(|(at, lifetime)| now_ms.saturating_add((lifetime / 2).min(60_000)) >= at);
        if due && self.step == Step::Done {
            self.expires = None;
            self.refresh();
        }
    }

    /// Trades the refresh token for a new access token; false when there is none.
    fn refresh(&mut self) -> bool {
        let Some(refresh_token) = self.refresh_token.clone() else { return false };
        let pairs = vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", refresh_token)];
        let scope = self.granted_scope.clone();
        self.step = Step::Refreshing;
        self.token_request(pairs, scope);
        // A signed assertion waits for its signature (and knows it refreshes); else the request is out.
        if !matches!(self.step, Step::Signing { .. }) {
            self.step = Step::Refreshing;
        }
        true
    }

    /// The server accepted a token: the next challenge starts a fresh count of authorizations.
    pub fn token_accepted(&mut self) {
        self.authorizations = 0;
        self.refreshed = false;
    }

    /// The answer to request `id` (status and body). Returns false when `id` is not this client's request.
    pub fn handle_response(&mut self, id: u64, status: u16, body: &[u8]) -> bool {
        if self.waiting != Some(id) {
            return false;
        }
        self.waiting = None;
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let ok = (200..300).contains(&status);
        match std::mem::replace(&mut self.step, Step::Idle) {
            Step::ResourceMetadata { urls, at } => match json.filter(|_| ok) {
                Some(body) => match ResourceMetadata::read(&body, &self.server_url) {
                    Ok(resource) => self.found_resource(resource),
                    Err(why) => self.fail(format!("the server's resource metadata is refused: {why}")),
                },
                None => self.next_resource_url(urls, at),
            },
            Step::ServerMetadata { issuer, urls, at } => match json.filter(|_| ok) {
                Some(body) => match ServerMetadata::read(&body, &issuer) {
                    Ok(server) => self.found_server(server),
                    Err(why) => self.fail(format!("the authorization server is refused: {why}")),
                },
                None => self.next_server_url(issuer, urls, at),
            },
            Step::Registering => match json {
                Some(body) if ok => self.registered(&body),
                other => {
                    self.fail(format!("the client registration was refused (HTTP {status}){}", oauth_error(other)))
                }
            },
            // A refresh that fails is no failure yet: the whole flow is tried (the grant may be gone).
            Step::Refreshing => match json {
                Some(body) if ok && body.get("access_token").is_some() => {
                    // A refresh response may leave the refresh token out: the old one still serves (RFC 6749 §6).
                    let kept = self.refresh_token.clone();
                    self.tokens(&body, self.granted_scope.clone());
                    self.refresh_token = self.refresh_token.take().or(kept);
                }
                _ => {
                    self.refresh_token = None;
                    self.restart()
                }
            },
            Step::ExchangingIdentity => match json {
                Some(body) if ok => self.identity_exchanged(&body),
                other => self.fail(format!("the IdP refused the token exchange (HTTP {status}){}", oauth_error(other))),
            },
            Step::Exchanging { scope } => match json {
                Some(body) if ok => self.tokens(&body, scope),
                other => self.fail(format!("the token request was refused (HTTP {status}){}", oauth_error(other))),
            },
            step => {
                self.step = step;
                return false;
            }
        }
        true
    }

    /// Request `id` failed in transport. Returns false when `id` is not this client's request.
    pub fn handle_error(&mut self, id: u64, message: &str) -> bool {
        if self.waiting != Some(id) {
            return false;
        }
        self.waiting = None;
        match std::mem::replace(&mut self.step, Step::Idle) {
            // A metadata URL that cannot be reached is one that is not there: try the next.
            Step::ResourceMetadata { urls, at } => self.next_resource_url(urls, at),
            Step::ServerMetadata { issuer, urls, at } => self.next_server_url(issuer, urls, at),
            Step::Refreshing => {
                self.refresh_token = None;
                self.restart()
            }
            _ => self.fail(format!("the authorization server could not be reached: {message}")),
        }
        true
    }

    /// The URL the authorization server sent the person back to. Returns false when no authorization waits.
    pub fn handle_redirect(&mut self, url: &str) -> bool {
        let Step::Authorizing { verifier, state, scope } = std::mem::replace(&mut self.step, Step::Idle) else {
            return false;
        };
        let params = query_pairs(url);
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        if let Some(error) = get("error") {
            let detail = get("error_description").map(|d| format!(": {d}")).unwrap_or_default();
            self.fail(format!("the authorization was refused ({error}{detail})"));
            return true;
        }
        if get("state") != Some(state.as_str()) {
            self.fail("the authorization response's state is not the one sent".into());
            return true;
        }
        let issuer = self.server.as_ref().map(|s| s.issuer.clone()).unwrap_or_default();
        let advertised = self.server.as_ref().is_some_and(|s| s.iss_parameter);
        match get("iss") {
            // RFC 9207: compared to the letter, never normalised.
            Some(iss) if iss != issuer => {
                self.fail(format!("the authorization response comes from another issuer ({})", origin(iss)));
                return true;
            }
            None if advertised => {
                self.fail("the authorization response lacks the iss its server promises (RFC 9207)".into());
                return true;
            }
            _ => {}
        }
        let Some(code) = get("code").map(str::to_owned) else {
            self.fail("the authorization response has no code".into());
            return true;
        };
        let pairs = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri.clone()),
            ("code_verifier", verifier),
        ];
        self.token_request(pairs, scope);
        true
    }

    /// The host could not complete the interactive step (the person closed the window, the hook failed):
    /// authorization fails with `why`. Returns false when no authorization waits.
    pub fn handle_redirect_failed(&mut self, why: &str) -> bool {
        if !matches!(self.step, Step::Authorizing { .. }) {
            return false;
        }
        self.fail(format!("the authorization was not completed ({why})"));
        true
    }

    /// The next thing to do, or `None` until an input.
    pub fn poll_output(&mut self) -> Option<AuthOutput> {
        self.out.pop_front()
    }

    // ---- steps ----

    fn fetch_step(&mut self) {
        let url = match &self.step {
            Step::ResourceMetadata { urls, at } | Step::ServerMetadata { urls, at, .. } => urls[*at].clone(),
            _ => return,
        };
        let headers = vec![("accept".to_owned(), "application/json".to_owned())];
        self.send(HttpRequest { method: "GET".into(), url, headers, body: None });
    }

    fn next_resource_url(&mut self, urls: Vec<String>, at: usize) {
        if at + 1 < urls.len() {
            self.step = Step::ResourceMetadata { urls, at: at + 1 };
            return self.fetch_step();
        }
        // No resource metadata: a 2025-03-26 server, whose origin is its authorization server.
        self.resource = None;
        let issuer = origin(&self.server_url).to_owned();
        self.step = Step::ServerMetadata {
            urls: vec![format!("{issuer}/.well-known/oauth-authorization-server")],
            issuer,
            at: 0,
        };
        self.fetch_step();
    }

    fn found_resource(&mut self, resource: ResourceMetadata) {
        let issuer = resource.authorization_servers[0].clone();
        self.resource = Some(resource);
        self.step = Step::ServerMetadata { urls: server_metadata_urls(&issuer), issuer, at: 0 };
        self.fetch_step();
    }

    fn next_server_url(&mut self, issuer: String, urls: Vec<String>, at: usize) {
        if at + 1 < urls.len() {
            self.step = Step::ServerMetadata { issuer, urls, at: at + 1 };
            return self.fetch_step();
        }
        if self.resource.is_none() {
            // 2025-03-26 without metadata: the default endpoints.
            return self.found_server(ServerMetadata::defaults(&self.server_url));
        }
        self.fail(format!("the authorization server {} publishes no metadata", origin(&issuer)));
    }

    fn found_server(&mut self, server: ServerMetadata) {
        if self.config.grant != Grant::AuthorizationCode {
            return self.machine_grant(server);
        }
        if server.authorization_endpoint.is_none() {
            return self.fail("the authorization server offers no authorization endpoint".into());
        }
        // A registration belongs to the server that made it; credentials never go to another.
        if self.identity.as_ref().is_some_and(|i| i.issuer != server.issuer) {
            self.identity = None;
            self.refresh_token = None;
        }
        self.server = Some(server);
        if self.identity.is_some() {
            return self.authorize();
        }
        self.identify();
    }

    fn identify(&mut self) {
        let server = self.server.as_ref().expect("found_server sets it");
        let issuer = server.issuer.clone();
        if let Some(client_id) = self.config.client_id.clone() {
            let client_secret = self.config.client_secret.clone();
            let method = auth_method(client_secret.is_some(), &server.token_endpoint_auth_methods, None);
            self.identity = Some(Identity { client_id, client_secret, method, issuer, registered: false });
            return self.authorize();
        }
        if let Some(url) = self.config.client_metadata_url.clone().filter(|_| server.client_id_metadata_documents) {
            let method = "none".to_owned();
            self.identity = Some(Identity { client_id: url, client_secret: None, method, issuer, registered: false });
            return self.authorize();
        }
        let Some(endpoint) = server.registration_endpoint.clone() else {
            return self.fail(
                "the authorization server takes no registrations and no client id is configured (auth.clientId)".into(),
            );
        };
        let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
            .iter()
            .any(|p| self.config.redirect_uri.starts_with(p));
        let body = json!({
            "client_name": self.config.client_name,
            "redirect_uris": [self.config.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "application_type": if loopback { "native" } else { "web" },
        });
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
        ];
        self.step = Step::Registering;
        self.send(HttpRequest { method: "POST".into(), url: endpoint, headers, body: Some(body.to_string()) });
    }

    fn registered(&mut self, body: &Value) {
        let Some(client_id) = body.get("client_id").and_then(Value::as_str) else {
            return self.fail("the client registration gave no client_id".into());
        };
        let server = self.server.as_ref().expect("registering follows found_server");
        let client_secret = body.get("client_secret").and_then(Value::as_str).map(str::to_owned);
        let stated = body.get("token_endpoint_auth_method").and_then(Value::as_str);
        let method = auth_method(client_secret.is_some(), &server.token_endpoint_auth_methods, stated);
        let issuer = server.issuer.clone();
        self.identity =
            Some(Identity { client_id: client_id.to_owned(), client_secret, method, issuer, registered: true });
        self.authorize();
    }

    fn authorize(&mut self) {
        let scope = self.scope();
        let verifier = self.draw("verifier");
        let state = self.draw("state");
        let (Some(server), Some(identity)) = (&self.server, &self.identity) else { return };
        let Some(endpoint) = server.authorization_endpoint.clone() else { return };
        let challenge = base64url(&sha256(verifier.as_bytes()));
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", identity.client_id.as_str()),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", state.as_str()),
        ];
        if let Some(scope) = &scope {
            pairs.push(("scope", scope));
            // OpenID Connect §11: offline access is granted only with consent asked for (providers drop
            // offline_access otherwise, and no refresh token comes).
            if scope.split(' ').any(|s| s == "offline_access") {
                pairs.push(("prompt", "consent"));
            }
        }
        if let Some(resource) = &self.resource {
            pairs.push(("resource", &resource.resource));
        }
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        let url = format!("{endpoint}{separator}{}", form(&pairs));
        self.authorizations += 1;
        self.step = Step::Authorizing { verifier, state, scope };
        self.out.push_back(AuthOutput::Authorize { url });
    }

    /// The scope to ask for: the configured one; else the challenge's joined with what was granted before (a
    /// step-up keeps what the client has); else what the resource lists; with `offline_access` where the
    /// authorization server offers it (refresh tokens). `None` when nothing names a scope.
    fn scope(&self) -> Option<String> {
        let mut scopes: Vec<String> = self.config.scopes.clone();
        if scopes.is_empty() {
            if let Some(challenged) = &self.challenge.scope {
                let granted = self.granted_scope.iter().flat_map(|g| g.split_whitespace());
                scopes = granted.chain(challenged.split_whitespace()).map(str::to_owned).collect();
            } else if let Some(resource) = &self.resource {
                scopes = resource.scopes_supported.clone();
            }
        }
        let offline = self.server.as_ref().is_some_and(|s| s.scopes_supported.iter().any(|s| s == "offline_access"));
        if offline && !scopes.is_empty() {
            scopes.push("offline_access".into());
        }
        let mut unique: Vec<String> = Vec::new();
        for scope in scopes {
            if !unique.contains(&scope) {
                unique.push(scope);
            }
        }
        (!unique.is_empty()).then(|| unique.join(" "))
    }

    /// The token request with `pairs`, the resource indicator and the client's authentication.
    fn token_request(&mut self, pairs: Vec<(&'static str, String)>, scope: Option<String>) {
        if self.identity.as_ref().is_some_and(|i| i.method == "private_key_jwt") {
            return self.sign_assertion(pairs, scope);
        }
        self.send_token_request(pairs, scope);
    }

    /// The time, for what the client signs.
    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    fn send_token_request(&mut self, mut pairs: Vec<(&'static str, String)>, scope: Option<String>) {
        let (Some(server), Some(identity)) = (&self.server, &self.identity) else { return };
        let mut headers = vec![
            ("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
        ];
        let secret = identity.client_secret.clone().unwrap_or_default();
        match identity.method.as_str() {
            "client_secret_basic" => {
                let credentials = format!("{}:{}", form_encode(&identity.client_id), form_encode(&secret));
                headers.push(("authorization".to_owned(), format!("Basic {}", base64(credentials.as_bytes()))));
            }
            "client_secret_post" => {
                pairs.extend([("client_id", identity.client_id.clone()), ("client_secret", secret)])
            }
            // `none` and `private_key_jwt` (whose assertion is already in `pairs`) name the client in the form.
            _ => pairs.push(("client_id", identity.client_id.clone())),
        }
        if let Some(resource) = &self.resource {
            pairs.push(("resource", resource.resource.clone()));
        }
        let body: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let request =
            HttpRequest { method: "POST".into(), url: server.token_endpoint.clone(), headers, body: Some(form(&body)) };
        self.step = Step::Exchanging { scope };
        self.send(request);
    }

    fn tokens(&mut self, body: &Value, scope: Option<String>) {
        let Some(access_token) = body.get("access_token").and_then(Value::as_str) else {
            return self.fail("the token response has no access_token".into());
        };
        // What was granted: the response's scope, else what was asked for.
        self.granted_scope = body.get("scope").and_then(Value::as_str).map(str::to_owned).or(scope);
        let refresh_token = body.get("refresh_token").and_then(Value::as_str).map(str::to_owned);
        self.refresh_token = refresh_token.clone();
        self.access_token = Some(access_token.to_owned());
        let lifetime = body.get("expires_in").and_then(Value::as_u64).map(|s| s.saturating_mul(1000));
        self.expires = lifetime.map(|lifetime| (self.now_ms.saturating_add(lifetime), lifetime));
        self.step = Step::Done;
        self.out.push_back(AuthOutput::Authorized { access_token: access_token.to_owned(), refresh_token });
    }

    fn send(&mut self, request: HttpRequest) {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting = Some(id);
        self.out.push_back(AuthOutput::Http { id, request });
    }

    /// Discovery again from the start, with the challenge that led here.
    fn restart(&mut self) {
        let urls = resource_metadata_urls(&self.server_url, self.challenge.resource_metadata.as_deref());
        self.step = Step::ResourceMetadata { urls, at: 0 };
        self.fetch_step();
    }

    fn fail(&mut self, message: String) {
        self.step = Step::Done;
        self.waiting = None;
        self.out.push_back(AuthOutput::Failed(message));
    }

    /// 43 characters of base64url from the host's seed: SHA-256 of the seed, what it is for and a counter.
    fn draw(&mut self, purpose: &str) -> String {
        self.drawn += 1;
        let mut input = self.seed.to_vec();
        input.extend_from_slice(purpose.as_bytes());
        input.extend_from_slice(&self.drawn.to_be_bytes());
        base64url(&sha256(&input))
    }
}

/// The token endpoint's client authentication: what the registration said, else the first of `basic`, `post`
/// the server supports for a client with a secret (`basic` when it lists none, RFC 8414's default), else `none`.
fn auth_method(has_secret: bool, supported: &[String], stated: Option<&str>) -> String {
    if let Some(stated) = stated {
        return stated.to_owned();
    }
    if !has_secret {
        return "none".into();
    }
    let offers = |m: &str| supported.iter().any(|s| s == m);
    let method = if supported.is_empty() || offers("client_secret_basic") {
        "client_secret_basic"
    } else if offers("client_secret_post") {
        "client_secret_post"
    } else if offers("none") {
        "none"
    } else {
        "client_secret_basic"
    };
    method.into()
}

/// `: <error> (<description>)` of an OAuth error body, if it has one.
fn oauth_error(body: Option<Value>) -> String {
    let Some(body) = body else { return String::new() };
    let error = body.get("error").and_then(Value::as_str).unwrap_or_default();
    match body.get("error_description").and_then(Value::as_str) {
        Some(description) if !error.is_empty() => format!(": {error} ({description})"),
        _ if !error.is_empty() => format!(": {error}"),
        _ => String::new(),
    }
}

/// base64url without padding (RFC 7636's encoding of the code challenge).
fn base64url(bytes: &[u8]) -> String {
    base64(bytes).trim_end_matches('=').replace('+', "-").replace('/', "_")
}

mod machines;
#[cfg(test)]
mod tests;
