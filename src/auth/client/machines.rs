//! Grants without a person (client credentials, the enterprise exchange) and the client's signed assertion
//! (`private_key_jwt`): the parts of the flow a machine, or the company IdP, does.

use super::{AuthClient, AuthOutput, Identity, Step, auth_method, base64url};
use crate::auth::config::Grant;
use crate::auth::metadata::ServerMetadata;
use crate::base::http::HttpRequest;
use crate::base::url::form;
use serde_json::{Value, json};

impl AuthClient {
    /// Client credentials, or the enterprise exchange: no person, the configured client.
    pub(super) fn machine_grant(&mut self, server: ServerMetadata) {
        let client_id = self.config.client_id.clone().unwrap_or_default();
        let client_secret = self.config.client_secret.clone();
        let method = match self.config.signing {
            Some(_) => "private_key_jwt".to_owned(),
            None => auth_method(true, &server.token_endpoint_auth_methods, None),
        };
        let issuer = server.issuer.clone();
        self.identity = Some(Identity { client_id, client_secret, method, issuer: issuer.clone(), registered: false });
        self.server = Some(server);
        let scope = self.scope();
        match self.config.grant.clone() {
            Grant::Enterprise { idp_token_endpoint, id_token, idp_client_id } => {
                let mut pairs = vec![
                    ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange".to_owned()),
                    ("requested_token_type", "urn:ietf:params:oauth:token-type:id-jag".to_owned()),
                    ("subject_token", id_token),
                    ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token".to_owned()),
                    ("audience", issuer),
                ];
                if let Some(resource) = &self.resource {
                    pairs.push(("resource", resource.resource.clone()));
                }
                if let Some(scope) = scope {
                    pairs.push(("scope", scope));
                }
                if let Some(client_id) = idp_client_id {
                    pairs.push(("client_id", client_id));
                }
                let body: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let headers = vec![
                    ("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
                    ("accept".to_owned(), "application/json".to_owned()),
                ];
                self.step = Step::ExchangingIdentity;
                self.send(HttpRequest {
                    method: "POST".into(),
                    url: idp_token_endpoint,
                    headers,
                    body: Some(form(&body)),
                });
            }
            _ => {
                let mut pairs = vec![("grant_type", "client_credentials".to_owned())];
                if let Some(scope) = &scope {
                    pairs.push(("scope", scope.clone()));
                }
                self.token_request(pairs, scope);
            }
        }
    }

    /// The IdP's answer: the ID-JAG, presented to the authorization server as a JWT bearer grant.
    pub(super) fn identity_exchanged(&mut self, body: &Value) {
        let Some(assertion) = body.get("access_token").and_then(Value::as_str) else {
            return self.fail("the IdP's token exchange gave no token".into());
        };
        let pairs = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned()),
            ("assertion", assertion.to_owned()),
        ];
        self.token_request(pairs, None);
    }

    /// `private_key_jwt` (RFC 7523): the client's assertion, signed by the host, goes with the token request.
    pub(super) fn sign_assertion(&mut self, pairs: Vec<(&'static str, String)>, scope: Option<String>) {
        let jti = self.draw("jti");
        let (Some(server), Some(identity)) = (&self.server, &self.identity) else { return };
        let now = self.now_ms / 1000;
        let claims = json!({
            "iss": identity.client_id, "sub": identity.client_id, "aud": server.issuer,
            "iat": now, "exp": now + 300, "jti": jti,
        });
        let header = base64url(br#"{"alg":"ES256","typ":"JWT"}"#);
        let input = format!("{header}.{}", base64url(claims.to_string().as_bytes()));
        let refreshing = self.step == Step::Refreshing;
        self.step = Step::Signing { input: input.clone(), pairs, scope, refreshing };
        self.out.push_back(AuthOutput::Sign { input });
    }

    /// The host's signature of the assertion (base64url), or why there is none. Returns false when nothing
    /// waits for one.
    pub fn handle_signature(&mut self, signature: Result<String, String>) -> bool {
        let Step::Signing { input, mut pairs, scope, refreshing } = std::mem::replace(&mut self.step, Step::Idle)
        else {
            return false;
        };
        match signature {
            Ok(signature) => {
                pairs.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()));
                pairs.push(("client_assertion", format!("{input}.{signature}")));
                self.send_token_request(pairs, scope);
                if refreshing {
                    self.step = Step::Refreshing;
                }
            }
            Err(why) => self.fail(format!("the client's assertion could not be signed ({why})")),
        }
        true
    }
}
