//! The flows of the MCP conformance suite's authorization scenarios, driven by hand: every request the client
//! makes is checked and answered as the suite's servers answer it.

use super::*;
use serde_json::json;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const MCP: &str = "http://localhost:9/mcp";
const AS: &str = "http://localhost:9";
const REDIRECT: &str = "http://localhost:3000/callback";

fn config() -> AuthConfig {
    AuthConfig { redirect_uri: REDIRECT.into(), client_name: "mcp-loop".into(), ..AuthConfig::default() }
}

fn client(config: AuthConfig) -> AuthClient {
    AuthClient::new(config, MCP, [7; 32])
}

fn prm(resource: &str, extra: Value) -> Value {
    let mut doc = json!({"resource": resource, "authorization_servers": [AS]});
    doc.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    doc
}

fn asm(extra: Value) -> Value {
    let mut doc = json!({
        "issuer": AS, "authorization_endpoint": format!("{AS}/authorize"), "token_endpoint": format!("{AS}/token"),
        "registration_endpoint": format!("{AS}/register"), "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"], "authorization_response_iss_parameter_supported": true,
    });
    doc.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    doc
}

/// The one request out; panics on anything else.
fn request(c: &mut AuthClient) -> (u64, HttpRequest) {
    match c.poll_output() {
        Some(AuthOutput::Http { id, request }) => (id, request),
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Answers GETs until one to `url`, each with 404; returns the id of that one.
fn get(c: &mut AuthClient, url: &str) -> u64 {
    loop {
        let (id, r) = request(c);
        assert_eq!(r.method, "GET");
        if r.url == url {
            return id;
        }
        assert!(c.handle_response(id, 404, b"not found"));
    }
}

fn answer(c: &mut AuthClient, id: u64, status: u16, body: Value) {
    assert!(c.handle_response(id, status, body.to_string().as_bytes()));
}

fn params(text: &str) -> Vec<(String, String)> {
    query_pairs(&format!("x?{text}"))
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// Runs discovery for the default layout up to the authorization URL; returns its query.
fn to_authorization(c: &mut AuthClient, resource: &str, server: Value) -> Vec<(String, String)> {
    let id = get(c, &format!("{AS}/.well-known/oauth-protected-resource/mcp"));
    answer(c, id, 200, prm(resource, json!({})));
    let id = get(c, &format!("{AS}/.well-known/oauth-authorization-server"));
    answer(c, id, 200, server);
    if c.identity.is_none() {
        let (id, r) = request(c);
        assert_eq!((r.method.as_str(), r.url.as_str()), ("POST", "http://localhost:9/register"));
        let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["redirect_uris"], json!([REDIRECT]));
        assert_eq!(body["application_type"], "native");
        assert!(body["grant_types"].as_array().unwrap().contains(&json!("refresh_token")));
        answer(c, id, 201, json!({"client_id": "test-client-id", "client_secret": "test-client-secret"}));
    }
    match c.poll_output() {
        Some(AuthOutput::Authorize { url }) => {
            assert!(url.starts_with(&format!("{AS}/authorize?")), "{url}");
            params(url.split_once('?').unwrap().1)
        }
        other => panic!("expected Authorize, got {other:?}"),
    }
}

/// A client that was challenged and found the default resource and `server`'s metadata.
fn discovered(config: AuthConfig, server: Value) -> AuthClient {
    let mut c = client(config);
    c.handle_challenge(401, ["Bearer"]);
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-protected-resource/mcp");
    answer(&mut c, id, 200, prm(MCP, json!({})));
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-authorization-server");
    answer(&mut c, id, 200, server);
    c
}

/// Sends the person back with `extra` query parts; returns the token request.
fn redirect(c: &mut AuthClient, query: &[(String, String)], extra: &str) -> Option<HttpRequest> {
    let state = param(query, "state").unwrap();
    assert!(c.handle_redirect(&format!("{REDIRECT}?code=test-auth-code&state={state}{extra}")));
    match c.poll_output() {
        Some(AuthOutput::Http { request, .. }) => Some(request),
        Some(AuthOutput::Failed(_)) | None => None,
        other => panic!("unexpected {other:?}"),
    }
}

fn token(c: &mut AuthClient, body: Value) -> String {
    let id = c.waiting.unwrap();
    answer(c, id, 200, body);
    match c.poll_output() {
        Some(AuthOutput::Authorized { access_token, .. }) => access_token,
        other => panic!("expected Authorized, got {other:?}"),
    }
}

#[test]
fn the_whole_flow_with_registration_pkce_and_the_resource_indicator() {
    let mut c = client(config());
    let header = r#"Bearer error="invalid_token", resource_metadata="http://localhost:9/.well-known/oauth-protected-resource/mcp""#;
    c.handle_challenge(401, [header]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    assert_eq!(param(&query, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&query, "client_id").as_deref(), Some("test-client-id"));
    assert_eq!(param(&query, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param(&query, "resource").as_deref(), Some(MCP));
    assert_eq!(param(&query, "scope"), None, "no scope named anywhere: none asked for");
    let iss = format!("&iss={}", form_encode(AS));
    let token_request = redirect(&mut c, &query, &iss).unwrap();
    assert_eq!(token_request.url, "http://localhost:9/token");
    let form = params(token_request.body.as_deref().unwrap());
    let verifier = param(&form, "code_verifier").unwrap();
    assert_eq!(verifier.len(), 43);
    assert_eq!(
        param(&query, "code_challenge").unwrap(),
        base64url(&sha256(verifier.as_bytes())),
        "S256 of the verifier"
    );
    assert_eq!(param(&form, "resource").as_deref(), Some(MCP));
    assert_eq!(param(&form, "code").as_deref(), Some("test-auth-code"));
    assert_eq!(token_request.header("authorization").map(|a| a.starts_with("Basic ")), Some(true), "a secret: basic");
    assert_eq!(token(&mut c, json!({"access_token": "test-token-1", "token_type": "Bearer"})), "test-token-1");
    assert_eq!(c.poll_output(), None);
}

#[test]
fn discovery_falls_back_in_the_specified_order_and_keeps_identifiers_as_written() {
    // PRM only at the root, naming the origin without a slash; the issuer has a path (OpenID, appended).
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-protected-resource");
    let issuer = "http://localhost:9/tenant1";
    answer(&mut c, id, 200, json!({"resource": AS, "authorization_servers": [issuer]}));
    let (id, first) = request(&mut c);
    assert_eq!(first.url, "http://localhost:9/.well-known/oauth-authorization-server/tenant1");
    assert!(c.handle_response(id, 404, b""));
    let (id, second) = request(&mut c);
    assert_eq!(second.url, "http://localhost:9/.well-known/openid-configuration/tenant1");
    assert!(c.handle_error(id, "connection refused"));
    let (id, third) = request(&mut c);
    assert_eq!(third.url, "http://localhost:9/tenant1/.well-known/openid-configuration");
    let mut doc = asm(json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}/authorize")}));
    doc["token_endpoint"] = json!(format!("{issuer}/token"));
    answer(&mut c, id, 200, doc);
    let (id, _) = request(&mut c);
    answer(&mut c, id, 201, json!({"client_id": "c"}));
    let Some(AuthOutput::Authorize { url }) = c.poll_output() else { panic!() };
    assert_eq!(
        param(&params(url.split_once('?').unwrap().1), "resource").as_deref(),
        Some(AS),
        "not `http://localhost:9/`"
    );
}

#[test]
fn what_must_stop_the_flow_stops_it_before_the_step_it_guards() {
    // A resource metadata document for another resource: no authorization is asked for.
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-protected-resource/mcp");
    answer(&mut c, id, 200, prm("https://evil.example.com/mcp", json!({})));
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("another resource")));

    // Metadata naming another issuer: nothing registered, authorized or exchanged.
    let mut c = discovered(config(), asm(json!({"issuer": "https://attacker.example.com"})));
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("another issuer")));
    assert_eq!(c.poll_output(), None);

    // The redirect's iss: wrong, missing where promised, normalised, or unexpected: no token request.
    for (advertised, extra) in [
        (true, "&iss=https%3A%2F%2Fevil.example.com"),
        (true, ""),
        (true, "&iss=http%3A%2F%2Flocalhost%3A9%2F"),
        (false, "&iss=https%3A%2F%2Fevil.example.com"),
    ] {
        let mut c = client(config());
        c.handle_challenge(401, ["Bearer"]);
        let query =
            to_authorization(&mut c, MCP, asm(json!({"authorization_response_iss_parameter_supported": advertised})));
        assert_eq!(redirect(&mut c, &query, extra), None, "{advertised} {extra}");
    }
    // Not advertised and absent: fine. A state that is not the one sent: refused.
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let query = to_authorization(&mut c, MCP, asm(json!({"authorization_response_iss_parameter_supported": false})));
    assert!(redirect(&mut c, &query, "").is_some());
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let _ = to_authorization(&mut c, MCP, asm(json!({})));
    assert!(c.handle_redirect(&format!("{REDIRECT}?code=x&state=forged&iss={}", form_encode(AS))));
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("state")));

    // No PKCE S256 on offer: refused.
    let mut c = discovered(config(), asm(json!({"code_challenge_methods_supported": ["plain"]})));
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("S256")));
}

#[test]
fn client_identity_and_token_endpoint_authentication() {
    // Pre-registered with a secret, the server taking basic: Basic, no secret in the body.
    let pre = AuthConfig {
        client_id: Some("pre-registered-client".into()),
        client_secret: Some("pre-registered-secret".into()),
        ..config()
    };
    let mut c = client(pre.clone());
    c.handle_challenge(401, ["Bearer"]);
    let query =
        to_authorization(&mut c, MCP, asm(json!({"token_endpoint_auth_methods_supported": ["client_secret_basic"]})));
    let r = redirect(&mut c, &query, &format!("&iss={}", form_encode(AS))).unwrap();
    assert_eq!(
        r.header("authorization"),
        Some(format!("Basic {}", base64(b"pre-registered-client:pre-registered-secret")).as_str())
    );
    assert_eq!(param(&params(r.body.as_deref().unwrap()), "client_secret"), None);

    // The same client where the server takes only post.
    let mut c = client(pre);
    c.handle_challenge(401, ["Bearer"]);
    let query =
        to_authorization(&mut c, MCP, asm(json!({"token_endpoint_auth_methods_supported": ["client_secret_post"]})));
    let r = redirect(&mut c, &query, &format!("&iss={}", form_encode(AS))).unwrap();
    assert_eq!(r.header("authorization"), None);
    assert_eq!(param(&params(r.body.as_deref().unwrap()), "client_secret").as_deref(), Some("pre-registered-secret"));

    // A registration that says `none`: neither.
    let mut c = discovered(config(), asm(json!({})));
    let (id, _) = request(&mut c);
    answer(&mut c, id, 201, json!({"client_id": "c", "token_endpoint_auth_method": "none"}));
    let Some(AuthOutput::Authorize { url }) = c.poll_output() else { panic!() };
    let r = redirect(&mut c, &params(url.split_once('?').unwrap().1), &format!("&iss={}", form_encode(AS))).unwrap();
    let form = params(r.body.as_deref().unwrap());
    assert_eq!((r.header("authorization"), param(&form, "client_id").as_deref()), (None, Some("c")));

    // A Client ID Metadata Document where the server takes them: no registration.
    let cimd = "https://conformance-test.local/client-metadata.json";
    let mut c = discovered(
        AuthConfig { client_metadata_url: Some(cimd.into()), ..config() },
        asm(json!({"client_id_metadata_document_supported": true})),
    );
    let Some(AuthOutput::Authorize { url }) = c.poll_output() else { panic!("no registration first") };
    assert_eq!(param(&params(url.split_once('?').unwrap().1), "client_id").as_deref(), Some(cimd));
}

#[test]
fn scopes_from_the_challenge_the_resource_step_up_and_the_retry_limit() {
    let iss = format!("&iss={}", form_encode(AS));
    let scope_of = |q: &[(String, String)]| param(q, "scope");
    // From the resource's list, with offline_access where the server offers it.
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-protected-resource/mcp");
    answer(&mut c, id, 200, prm(MCP, json!({"scopes_supported": ["mcp:basic", "mcp:read"]})));
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-authorization-server");
    answer(&mut c, id, 200, asm(json!({"scopes_supported": ["mcp:basic", "offline_access"]})));
    let (id, _) = request(&mut c);
    answer(&mut c, id, 201, json!({"client_id": "c"}));
    let Some(AuthOutput::Authorize { url }) = c.poll_output() else { panic!() };
    let query = params(url.split_once('?').unwrap().1);
    assert_eq!(scope_of(&query).as_deref(), Some("mcp:basic mcp:read offline_access"));
    assert_eq!(param(&query, "prompt").as_deref(), Some("consent"), "OpenID providers grant offline access only so");

    // The challenge's scope first; a 403 insufficient_scope asks for the union; then the limit.
    let mut c = client(config());
    c.handle_challenge(401, [r#"Bearer scope="mcp:basic""#]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    assert_eq!(scope_of(&query).as_deref(), Some("mcp:basic"));
    redirect(&mut c, &query, &iss).unwrap();
    token(&mut c, json!({"access_token": "test-token-1"}));
    let step_up = r#"Bearer error="insufficient_scope", scope="mcp:write""#;
    c.handle_challenge(403, [step_up]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    assert_eq!(scope_of(&query).as_deref(), Some("mcp:basic mcp:write"), "what was granted, and what is missing");
    redirect(&mut c, &query, &iss).unwrap();
    token(&mut c, json!({"access_token": "test-token-2"}));
    c.handle_challenge(403, [step_up]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    redirect(&mut c, &query, &iss).unwrap();
    token(&mut c, json!({"access_token": "test-token-3"}));
    c.handle_challenge(403, [step_up]);
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("after 3 authorizations")));
    // A server that took a token starts the count again.
    c.token_accepted();
    c.handle_challenge(403, [step_up]);
    assert!(matches!(c.poll_output(), Some(AuthOutput::Http { .. })));
}

#[test]
fn a_2025_03_26_server_is_its_own_authorization_server_with_default_endpoints() {
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    for url in [
        "http://localhost:9/.well-known/oauth-protected-resource/mcp",
        "http://localhost:9/.well-known/oauth-protected-resource",
        "http://localhost:9/.well-known/oauth-authorization-server",
    ] {
        let (id, r) = request(&mut c);
        assert_eq!(r.url, url);
        assert!(c.handle_response(id, 404, b""));
    }
    let (id, r) = request(&mut c);
    assert_eq!(r.url, "http://localhost:9/register");
    answer(&mut c, id, 201, json!({"client_id": "c"}));
    let Some(AuthOutput::Authorize { url }) = c.poll_output() else { panic!() };
    let query = params(url.split_once('?').unwrap().1);
    assert!(url.starts_with("http://localhost:9/authorize?"));
    assert_eq!(param(&query, "resource"), None, "no resource metadata, no resource indicator");
    let r = redirect(&mut c, &query, "").unwrap();
    assert_eq!(r.url, "http://localhost:9/token");
}

#[test]
fn a_new_authorization_server_gets_a_new_registration_and_never_the_old_client() {
    let iss = format!("&iss={}", form_encode(AS));
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    redirect(&mut c, &query, &iss).unwrap();
    token(&mut c, json!({"access_token": "test-token-as1"}));
    c.token_accepted();
    // The resource now names another authorization server.
    c.handle_challenge(401, ["Bearer"]);
    let as2 = "http://localhost:10";
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-protected-resource/mcp");
    answer(&mut c, id, 200, json!({"resource": MCP, "authorization_servers": [as2]}));
    let id = get(&mut c, "http://localhost:10/.well-known/oauth-authorization-server");
    let mut doc = asm(json!({"issuer": as2}));
    for (key, path) in
        [("authorization_endpoint", "authorize"), ("token_endpoint", "token"), ("registration_endpoint", "register")]
    {
        doc[key] = json!(format!("{as2}/{path}"));
    }
    answer(&mut c, id, 200, doc);
    let (id, r) = request(&mut c);
    assert_eq!(r.url, "http://localhost:10/register", "registered again");
    answer(&mut c, id, 201, json!({"client_id": "as2-client-id"}));
    let Some(AuthOutput::Authorize { url }) = c.poll_output() else { panic!() };
    assert!(!url.contains("test-client-id"), "the first server's client id never reaches the second");
}

#[test]
fn odd_answers_fail_with_a_message_and_foreign_ids_are_not_taken() {
    let mut c = client(config());
    assert!(!c.handle_response(99, 200, b"{}"));
    assert!(!c.handle_redirect("http://localhost:3000/callback?code=x"));
    c.handle_challenge(401, ["Bearer"]);
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-protected-resource/mcp");
    answer(&mut c, id, 200, prm(MCP, json!({})));
    let id = get(&mut c, "http://localhost:9/.well-known/oauth-authorization-server");
    answer(&mut c, id, 200, asm(json!({})));
    let (id, _) = request(&mut c);
    assert!(c.handle_response(id, 400, br#"{"error":"invalid_client_metadata","error_description":"no"}"#));
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("invalid_client_metadata (no)")));
    // Not JSON where JSON is due; an authorization error in the redirect.
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    let state = param(&query, "state").unwrap();
    assert!(c.handle_redirect(&format!("{REDIRECT}?error=access_denied&state={state}")));
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("access_denied")));
    let mut c = client(config());
    c.handle_challenge(403, ["Bearer"]);
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("403")));
}

#[test]
fn machines_and_enterprise_sign_in_take_no_person() {
    let secret = || AuthConfig { client_id: Some("m".into()), client_secret: Some("s3cret".into()), ..config() };
    // Client credentials: straight to the token endpoint, with Basic.
    let mut c = discovered(
        AuthConfig { grant: Grant::ClientCredentials, ..secret() },
        asm(json!({"token_endpoint_auth_methods_supported": ["client_secret_basic"]})),
    );
    let (_, r) = request(&mut c);
    assert_eq!(r.url, "http://localhost:9/token");
    assert_eq!(param(&params(r.body.as_deref().unwrap()), "grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(r.header("authorization"), Some(format!("Basic {}", base64(b"m:s3cret")).as_str()));
    assert_eq!(token(&mut c, json!({"access_token": "cc-token-1"})), "cc-token-1");

    // Enterprise: the ID token to the IdP for an ID-JAG (audience: the issuer; resource: the server), which
    // goes to the authorization server as a JWT bearer grant.
    let grant = Grant::Enterprise {
        idp_token_endpoint: "http://idp:1/token".into(),
        id_token: "eyJ.id.token".into(),
        idp_client_id: Some("idp-client".into()),
    };
    let mut c = discovered(AuthConfig { grant, ..secret() }, asm(json!({})));
    let (id, r) = request(&mut c);
    assert_eq!(r.url, "http://idp:1/token");
    let form = params(r.body.as_deref().unwrap());
    assert_eq!(param(&form, "subject_token").as_deref(), Some("eyJ.id.token"));
    assert_eq!(param(&form, "requested_token_type").as_deref(), Some("urn:ietf:params:oauth:token-type:id-jag"));
    assert_eq!((param(&form, "audience").as_deref(), param(&form, "resource").as_deref()), (Some(AS), Some(MCP)));
    answer(
        &mut c,
        id,
        200,
        json!({"access_token": "id-jag", "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag"}),
    );
    let (_, r) = request(&mut c);
    let form = params(r.body.as_deref().unwrap());
    assert_eq!(param(&form, "grant_type").as_deref(), Some("urn:ietf:params:oauth:grant-type:jwt-bearer"));
    assert_eq!(param(&form, "assertion").as_deref(), Some("id-jag"));
    assert_eq!(token(&mut c, json!({"access_token": "t"})), "t");

    // Configuration: a machine grant needs its secret; an unknown grant is named.
    let read = |v: Value| AuthConfig::read(&v, "servers.hr.auth");
    assert!(read(json!({"grant": "client_credentials", "clientId": "m"})).unwrap_err().contains("clientSecret"));
    assert!(read(json!({"grant": "magic"})).unwrap_err().contains("'magic'"));
    assert!(read(json!({})).unwrap_err().contains("redirectUri is required"));
    assert!(read(json!({"redirectUri": "/callback"})).unwrap_err().contains("must be an absolute URI"));
    assert!(read(json!({"redirectUri": "com.example.app:/callback"})).is_ok(), "a private-use scheme is absolute");
    let enterprise = json!({"grant": "enterprise", "clientId": "c", "clientSecret": "s", "idpTokenEndpoint": "http://idp/token", "idToken": "tok"});
    assert_eq!(
        read(enterprise).unwrap().secrets(),
        ["s", "tok"],
        "the secret and the ID token are kept out of everything"
    );
}

#[test]
fn an_expired_token_is_refreshed_without_a_person_and_a_failed_refresh_signs_in_again() {
    let iss = format!("&iss={}", form_encode(AS));
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    redirect(&mut c, &query, &iss).unwrap();
    token(&mut c, json!({"access_token": "a1", "refresh_token": "r1", "expires_in": 1}));
    c.token_accepted();
    // The token expired: the refresh token, at the token endpoint, with the client's authentication.
    c.handle_challenge(401, [r#"Bearer error="invalid_token""#]);
    let (_, r) = request(&mut c);
    assert_eq!(r.url, "http://localhost:9/token");
    let form = params(r.body.as_deref().unwrap());
    assert_eq!(
        (param(&form, "grant_type").as_deref(), param(&form, "refresh_token").as_deref()),
        (Some("refresh_token"), Some("r1"))
    );
    assert_eq!(param(&form, "resource").as_deref(), Some(MCP));
    // A response without a new refresh token keeps the old one.
    assert_eq!(token(&mut c, json!({"access_token": "a2"})), "a2");
    c.token_accepted();
    c.handle_challenge(401, ["Bearer"]);
    let (id, r) = request(&mut c);
    assert_eq!(param(&params(r.body.as_deref().unwrap()), "refresh_token").as_deref(), Some("r1"));
    // Refused (revoked): the whole flow, from discovery, with a person.
    assert!(c.handle_response(id, 400, br#"{"error":"invalid_grant"}"#));
    let (_, r) = request(&mut c);
    assert_eq!(r.url, "http://localhost:9/.well-known/oauth-protected-resource/mcp");

    // A refreshed token the server refuses at once: a sign-in, not another refresh (no loop).
    let mut c = client(config());
    c.handle_challenge(401, ["Bearer"]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    redirect(&mut c, &query, &iss).unwrap();
    token(&mut c, json!({"access_token": "a1", "refresh_token": "r1"}));
    c.handle_challenge(401, ["Bearer"]);
    let (_, r) = request(&mut c);
    assert_eq!(r.url, "http://localhost:9/token");
    token(&mut c, json!({"access_token": "a2"}));
    c.handle_challenge(401, ["Bearer"]);
    let (_, r) = request(&mut c);
    assert_eq!(r.url, "http://localhost:9/.well-known/oauth-protected-resource/mcp");
}

#[test]
fn a_client_with_a_key_signs_its_assertion_through_the_host() {
    let keyed = || AuthConfig {
        grant: Grant::ClientCredentials,
        client_id: Some("m".into()),
        signing: Some("ES256".into()),
        ..config()
    };
    let mut c = discovered(keyed(), asm(json!({"token_endpoint_auth_methods_supported": ["private_key_jwt"]})));
    let Some(AuthOutput::Sign { input }) = c.poll_output() else { panic!("a signature is asked for first") };
    let (header, claims) = input.split_once('.').unwrap();
    assert_eq!(header, base64url(br#"{"alg":"ES256","typ":"JWT"}"#));
    let claims: Value = serde_json::from_slice(&base64url_decode(claims)).unwrap();
    assert_eq!(
        (claims["iss"].as_str(), claims["sub"].as_str(), claims["aud"].as_str()),
        (Some("m"), Some("m"), Some(AS))
    );
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
    assert!(c.handle_signature(Ok("c2ln".into())));
    let (_, r) = request(&mut c);
    let form = params(r.body.as_deref().unwrap());
    assert_eq!(param(&form, "client_assertion").unwrap(), format!("{input}.c2ln"));
    let assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    assert_eq!(param(&form, "client_assertion_type").as_deref(), Some(assertion_type));
    assert_eq!((r.header("authorization"), param(&form, "client_id").as_deref()), (None, Some("m")));
    // A host that cannot sign: the authorization fails, saying so.
    let mut c = discovered(keyed(), asm(json!({})));
    assert!(matches!(c.poll_output(), Some(AuthOutput::Sign { .. })));
    assert!(c.handle_signature(Err("no key".into())));
    assert!(matches!(c.poll_output(), Some(AuthOutput::Failed(m)) if m.contains("could not be signed (no key)")));
}

/// base64url without padding, decoded (for reading what the client signs).
fn base64url_decode(text: &str) -> Vec<u8> {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sextets: Vec<u32> = text.bytes().map(|c| TABLE.iter().position(|t| *t == c).unwrap() as u32).collect();
    let mut out = Vec::new();
    for chunk in sextets.chunks(4) {
        let n = chunk.iter().fold(0u32, |n, s| n << 6 | s) << (6 * (4 - chunk.len()));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn a_token_near_its_expiry_is_refreshed_before_a_request_meets_it() {
    let iss = format!("&iss={}", form_encode(AS));
    let mut c = client(config());
    c.tick(1_000_000);
    c.handle_challenge(401, ["Bearer"]);
    let query = to_authorization(&mut c, MCP, asm(json!({})));
    redirect(&mut c, &query, &iss).unwrap();
    token(&mut c, json!({"access_token": "a1", "refresh_token": "r1", "expires_in": 3600}));
    c.refresh_if_due(1_000_000 + 3_000_000);
    assert_eq!(c.poll_output(), None, "not yet: an hour's token is refreshed in its last minute");
    c.refresh_if_due(1_000_000 + 3_540_001);
    let (_, r) = request(&mut c);
    assert_eq!(param(&params(r.body.as_deref().unwrap()), "grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(token(&mut c, json!({"access_token": "a2", "expires_in": 4})), "a2");
    // A short token is refreshed at half its lifetime; a stored state keeps its expiry.
    let stored = c.stored().unwrap();
    let mut d = client(config());
    assert_eq!(d.restore(&stored).as_deref(), Some("a2"));
    d.refresh_if_due(1_000_000 + 3_540_001 + 2_000);
    assert!(matches!(d.poll_output(), Some(AuthOutput::Http { .. })));
}
