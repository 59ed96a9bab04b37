//! The driver's side of authorization: one [`AuthClient`] per server that has `auth`, fed the server's
//! challenges; its requests go out as HTTP effects of its own ([`Owner::Auth`]), their bodies collected here;
//! its interactive step goes to the host as [`Output::AuthorizeRequest`]; its outcome goes back to the server's
//! client (the token, or why there is none).

use super::{Driver, Output};
use crate::auth::{AuthClient, AuthOutput};
use crate::base::error::Result;
use crate::base::http::BodyBuffer;
use crate::base::io::{Effect, EffectId, Owner};
use crate::base::sha256::sha256;
use crate::base::vec_map::VecMap;

/// The most an authorization server's answer may hold (metadata, a registration, tokens).
const MAX_AUTH_BODY: usize = 1 << 20;
/// Questions to the host are numbered from here, above the client's request numbers.
const QUESTIONS: u64 = 1 << 36;

/// One server's authorization in the driver.
pub(super) struct Authorizing {
    client: AuthClient,
    /// Responses being read: status and body so far.
    bodies: VecMap<EffectId, (u16, BodyBuffer)>,
    /// The open question to the host, if any.
    asking: Option<EffectId>,
    asked: u64,
}

impl std::fmt::Debug for Authorizing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizing").field("asking", &self.asking).finish_non_exhaustive()
    }
}

impl Authorizing {
    /// A new question to the host (the person's sign-in, a signature), now the one open.
    fn ask(&mut self, index: usize) -> EffectId {
        self.asked += 1;
        let id = EffectId::new(Owner::Auth(index as u32), QUESTIONS + self.asked);
        self.asking = Some(id);
        id
    }

    /// The authorization of server `index` of a driver with `entropy`, when its entry has `auth`.
    pub(super) fn new(config: &crate::auth::AuthConfig, url: &str, entropy: u64, index: usize) -> Authorizing {
        // The PKCE verifiers and states come from the host's entropy, per server.
        let mut input = entropy.to_be_bytes().to_vec();
        input.extend_from_slice(&(index as u64).to_be_bytes());
        input.extend_from_slice(b"auth");
        let client = AuthClient::new(config.clone(), url, sha256(&input));
        Authorizing { client, bodies: VecMap::default(), asking: None, asked: 0 }
    }
}

impl Driver {
    /// Server `index` wants authorization.
    pub(super) fn auth_challenge(&mut self, index: usize, status: u16, challenge: &[String]) {
        let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut) else { return };
        auth.client.tick(self.now_ms);
        auth.client.handle_challenge(status, challenge.iter().map(String::as_str));
        self.drain_auth(index);
    }

    /// Tokens near their expiry are refreshed now, before a request meets one expired.
    pub(super) fn refresh_due_tokens(&mut self) {
        for index in 0..self.auth.len() {
            if let Some(auth) = self.auth[index].as_mut() {
                auth.client.refresh_if_due(self.now_ms);
                self.drain_auth(index);
            }
        }
    }

    /// A request with the server's token succeeded: the next challenge starts a fresh count.
    pub(super) fn auth_accepted(&mut self, index: usize) {
        if let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut) {
            auth.client.token_accepted();
        }
    }

    pub(super) fn drain_auth(&mut self, index: usize) {
        loop {
            let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut) else { return };
            let Some(output) = auth.client.poll_output() else { return };
            match output {
                AuthOutput::Http { id, request } => {
                    let id = EffectId::new(Owner::Auth(index as u32), id);
                    auth.bodies.insert(id, (0, BodyBuffer::new(MAX_AUTH_BODY)));
                    // Named after the server it is for (never the model's), without the server's headers.
                    let server = Some(self.servers[index].name().to_owned());
                    self.effect(Effect::Http { id, request, server });
                }
                AuthOutput::Authorize { url } => {
                    let id = auth.ask(index);
                    self.outstanding.push(id);
                    let server = self.servers[index].name().to_owned();
                    self.out.push_back(Output::AuthorizeRequest { id, server, url });
                }
                AuthOutput::Sign { input } => {
                    let id = auth.ask(index);
                    self.outstanding.push(id);
                    let server = self.servers[index].name().to_owned();
                    self.out.push_back(Output::SignRequest { id, server, input });
                }
                AuthOutput::Authorized { access_token, refresh_token } => {
                    let state = auth.client.stored();
                    self.servers[index].add_secrets(refresh_token);
                    self.servers[index].authorized(access_token, self.now_ms);
                    if let Some(state) = state {
                        let server = self.servers[index].name().to_owned();
                        self.out.push_back(Output::AuthState { server, state });
                    }
                }
                AuthOutput::Failed(message) => self.servers[index].authorization_failed(&message, self.now_ms),
            }
        }
    }

    pub(super) fn auth_head(&mut self, index: usize, id: EffectId, status: u16) -> bool {
        let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut) else { return false };
        let Some((slot, _)) = auth.bodies.get_mut(&id) else { return false };
        *slot = status;
        true
    }

    pub(super) fn auth_chunk(&mut self, index: usize, id: EffectId, chunk: &[u8]) -> bool {
        let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut) else { return false };
        let Some((_, body)) = auth.bodies.get_mut(&id) else { return false };
        body.push(chunk);
        true
    }

    pub(super) fn auth_end(&mut self, index: usize, id: EffectId) -> bool {
        let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut) else { return false };
        let Some((status, body)) = auth.bodies.remove(&id) else { return false };
        let taken = match body.overflowed() {
            true => auth.client.handle_error(id.number(), &format!("the answer exceeded {MAX_AUTH_BODY} bytes")),
            false => auth.client.handle_response(id.number(), status, body.bytes()),
        };
        self.drain_auth(index);
        taken
    }

    pub(super) fn auth_error(&mut self, index: usize, id: EffectId, message: &str) -> bool {
        let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut) else { return false };
        auth.bodies.remove(&id);
        let taken = auth.client.handle_error(id.number(), message);
        self.drain_auth(index);
        taken
    }

    /// The host's answer to [`Output::AuthorizeRequest`] `id`: the URL the authorization server redirected the
    /// person to (the redirect URI with its query), or why there is none.
    pub fn answer_authorize(
        &mut self,
        id: EffectId,
        outcome: std::result::Result<String, String>,
        now_ms: u64,
    ) -> Result<bool> {
        self.answer_auth(id, now_ms, |client| match outcome {
            Ok(url) => client.handle_redirect(&url),
            Err(why) => client.handle_redirect_failed(&why),
        })
    }

    /// The host's answer to [`Output::SignRequest`] `id`: the signature (base64url), or why there is none.
    pub fn answer_sign(
        &mut self,
        id: EffectId,
        outcome: std::result::Result<String, String>,
        now_ms: u64,
    ) -> Result<bool> {
        self.answer_auth(id, now_ms, |client| client.handle_signature(outcome))
    }

    /// An answer to the open question `id` of an authorization.
    fn answer_auth(&mut self, id: EffectId, now_ms: u64, answer: impl FnOnce(&mut AuthClient) -> bool) -> Result<bool> {
        self.now_ms = now_ms;
        let Some(Owner::Auth(index)) = id.owner() else { return self.late(id) };
        let index = index as usize;
        let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut).filter(|a| a.asking == Some(id)) else {
            return self.late(id);
        };
        auth.asking = None;
        auth.client.tick(now_ms);
        answer(&mut auth.client);
        self.outstanding.retain(|o| *o != id);
        self.drain_auth(index);
        self.pump();
        Ok(true)
    }

    /// Starts `server`'s authorization from a stored [`Output::AuthState`]: its token goes on the server's
    /// requests at once. Returns false when the server has no `auth` or the state is not one (then it signs in
    /// anew when asked).
    pub fn restore_auth(&mut self, server: &str, state: &serde_json::Value, now_ms: u64) -> Result<bool> {
        self.now_ms = now_ms;
        let Some(index) = self.servers.iter().position(|s| s.name() == server) else { return Ok(false) };
        let Some(auth) = self.auth.get_mut(index).and_then(Option::as_mut) else { return Ok(false) };
        let Some(token) = auth.client.restore(state) else { return Ok(false) };
        let secrets =
            ["clientSecret", "refreshToken"].map(|k| state.get(k).and_then(|v| v.as_str()).map(str::to_owned));
        self.servers[index].add_secrets(secrets.into_iter().flatten());
        self.servers[index].authorized(token, now_ms);
        self.pump();
        Ok(true)
    }

    /// The agent closes: no sign-in is waited for any more (a late answer is not taken).
    pub(super) fn stop_authorizing(&mut self) {
        for auth in self.auth.iter_mut().flatten() {
            if let Some(id) = auth.asking.take() {
                self.outstanding.retain(|o| *o != id);
            }
        }
    }

    /// Whether `id` (an authorization's) was ever issued.
    pub(super) fn auth_issued(&self, index: usize, id: EffectId) -> bool {
        self.auth.get(index).and_then(Option::as_ref).is_some_and(|a| id.number() < QUESTIONS + a.asked + 1)
    }
}
