//! What an application says about a server's authorization: the grant, the client, the redirect URI.

use crate::base::json::Fields;
use serde_json::Value;

/// How the client gets its token.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Grant {
    /// A person signs in (authorization code with PKCE): the default.
    #[default]
    AuthorizationCode,
    /// Machine credentials (the `oauth-client-credentials` extension): the client's id and secret alone.
    ClientCredentials,
    /// Enterprise-managed authorization (the `enterprise-managed-authorization` extension): the company IdP
    /// exchanges the person's ID token for an ID-JAG, which the authorization server takes as a JWT bearer grant.
    Enterprise {
        /// The IdP's token endpoint.
        idp_token_endpoint: String,
        /// The person's ID token from the IdP (a secret).
        id_token: String,
        /// This client at the IdP, when the IdP wants it named.
        idp_client_id: Option<String>,
    },
}

/// How the client identifies itself and where the authorization server sends the person back.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// How the token is got.
    pub grant: Grant,
    /// A client registered in advance with the authorization server.
    pub client_id: Option<String>,
    /// Its secret (for `client_secret_basic` or `client_secret_post`).
    pub client_secret: Option<String>,
    /// The URL of this client's Client ID Metadata Document, used as its `client_id` where the authorization
    /// server accepts such documents.
    pub client_metadata_url: Option<String>,
    /// Scopes to ask for; when empty, the challenge's, else those the server lists.
    pub scopes: Vec<String>,
    /// Where the authorization server sends the person back (registered with the client).
    pub redirect_uri: String,
    /// The name a registration gives the client.
    pub client_name: String,
    /// The client authenticates with a JWT it signs (`private_key_jwt`) with this algorithm (`ES256`): the key
    /// stays with the host, which signs what the client gives it.
    pub signing: Option<String>,
}

impl AuthConfig {
    /// Reads `{redirectUri, clientId?, clientSecret?, clientMetadataUrl?, scopes?, clientName?}` at `path`, or,
    /// for machines, `{grant: "client_credentials", clientId, clientSecret, scopes?}`, or, for enterprise-managed
    /// authorization, `{grant: "enterprise", clientId, clientSecret, idpTokenEndpoint, idToken, idpClientId?}`.
    pub(crate) fn read(value: &Value, path: &str) -> Result<AuthConfig, String> {
        let f = Fields::new(value, path)?;
        let keys = [
            "grant",
            "redirectUri",
            "clientId",
            "clientSecret",
            "clientMetadataUrl",
            "scopes",
            "clientName",
            "signing",
        ];
        f.only(&[&keys[..], &["idpTokenEndpoint", "idToken", "idpClientId"]].concat())?;
        let required = |key: &str| f.string(key)?.ok_or(format!("{path}.{key} is required"));
        let grant = match f.string("grant")?.as_deref() {
            None | Some("authorization_code") => Grant::AuthorizationCode,
            Some("client_credentials") => Grant::ClientCredentials,
            Some("enterprise") => Grant::Enterprise {
                idp_token_endpoint: required("idpTokenEndpoint")?,
                id_token: required("idToken")?,
                idp_client_id: f.string("idpClientId")?,
            },
            Some(other) => {
                return Err(format!(
                    "{path}.grant must be authorization_code, client_credentials or enterprise, not '{other}'"
                ));
            }
        };
        let redirect_uri = match grant {
            Grant::AuthorizationCode => required("redirectUri")?,
            _ => f.string("redirectUri")?.unwrap_or_default(),
        };
        // Absolute (`scheme:…`): the authorization server sends the person back there, from anywhere.
        let scheme = redirect_uri.split_once(':').map(|(scheme, _)| scheme);
        let absolute =
            scheme.is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
        if grant == Grant::AuthorizationCode && !absolute {
            return Err(format!("{path}.redirectUri must be an absolute URI"));
        }
        let signing = f.string("signing")?;
        if signing.as_deref().is_some_and(|alg| alg != "ES256") {
            return Err(format!("{path}.signing must be ES256"));
        }
        let credential = f.string("clientSecret")?.is_some() || signing.is_some();
        if grant != Grant::AuthorizationCode && (f.string("clientId")?.is_none() || !credential) {
            return Err(format!(
                "{path}: a machine or enterprise grant needs clientId and clientSecret (or a private key)"
            ));
        }
        Ok(AuthConfig {
            grant,
            client_id: f.string("clientId")?,
            client_secret: f.string("clientSecret")?,
            client_metadata_url: f.string("clientMetadataUrl")?,
            scopes: f.strings("scopes")?,
            redirect_uri,
            client_name: f.string("clientName")?.unwrap_or_else(|| "mcp-loop".into()),
            signing,
        })
    }

    /// Values to keep out of everything that leaves the connection.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.client_secret.iter().cloned().collect();
        if let Grant::Enterprise { id_token, .. } = &self.grant {
            secrets.push(id_token.clone());
        }
        secrets
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let grant = match self.grant {
            Grant::AuthorizationCode => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
            Grant::Enterprise { .. } => "enterprise",
        };
        f.debug_struct("AuthConfig")
            .field("grant", &grant)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[set]"))
            .field("client_metadata_url", &self.client_metadata_url)
            .field("scopes", &self.scopes)
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}
