//! Where the metadata documents are and what they say: Protected Resource Metadata (RFC 9728) of the MCP
//! server and Authorization Server Metadata (RFC 8414, or OpenID discovery). Identifiers are compared as exact
//! strings: `http://h` and `http://h/` are different resources and different issuers to the spec, and a client
//! that normalises them accepts what it should refuse.

use crate::base::url::{origin, path};
use serde_json::Value;

/// The URLs to try, in order, for the Protected Resource Metadata of the MCP server at `server_url`: the one
/// its challenge names, else the path-aware well-known URL, then the root one.
pub(crate) fn resource_metadata_urls(server_url: &str, from_challenge: Option<&str>) -> Vec<String> {
    if let Some(url) = from_challenge {
        return vec![url.to_owned()];
    }
    let (origin, path) = (origin(server_url), path(server_url));
    let mut urls = Vec::new();
    if path != "/" {
        urls.push(format!("{origin}/.well-known/oauth-protected-resource{}", path.trim_end_matches('/')));
    }
    urls.push(format!("{origin}/.well-known/oauth-protected-resource"));
    urls
}

/// The URLs to try, in order, for the metadata of the authorization server `issuer`: RFC 8414 with the issuer's
/// path inserted, then OpenID discovery inserted and appended; for an issuer without a path, the two roots.
pub(crate) fn server_metadata_urls(issuer: &str) -> Vec<String> {
    let (origin, path) = (origin(issuer), path(issuer).trim_end_matches('/'));
    if path.is_empty() {
        return vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ];
    }
    vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
    ]
}

/// What the MCP server says of itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourceMetadata {
    /// The resource identifier: sent as `resource` exactly as written.
    pub(crate) resource: String,
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Vec<String>,
}

impl ResourceMetadata {
    /// Reads the document and checks that it describes the server at `server_url`: its resource is that URL or
    /// one of its parents on the same origin (a document naming another resource is refused: a token for it
    /// must not be asked for).
    pub(crate) fn read(body: &Value, server_url: &str) -> Result<ResourceMetadata, String> {
        let resource = body.get("resource").and_then(Value::as_str).ok_or("it names no resource")?;
        if !covers(resource, server_url) {
            return Err(format!("it describes another resource ({})", origin(resource)));
        }
        let authorization_servers = strings(body, "authorization_servers");
        if authorization_servers.is_empty() {
            return Err("it names no authorization server".into());
        }
        Ok(ResourceMetadata {
            resource: resource.to_owned(),
            authorization_servers,
            scopes_supported: strings(body, "scopes_supported"),
        })
    }
}

/// True when `resource` is `url` or a parent of it at a path boundary (`http://h` covers `http://h/mcp`).
fn covers(resource: &str, url: &str) -> bool {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let parent = resource.trim_end_matches('/');
    url == resource || url.strip_prefix(parent).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What the authorization server says of itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ServerMetadata {
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: Option<String>,
    pub(crate) token_endpoint: String,
    pub(crate) registration_endpoint: Option<String>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) token_endpoint_auth_methods: Vec<String>,
    pub(crate) grant_types: Vec<String>,
    pub(crate) client_id_metadata_documents: bool,
    /// The authorization response carries `iss` (RFC 9207): one without it is refused.
    pub(crate) iss_parameter: bool,
}

impl ServerMetadata {
    /// Reads the metadata of `issuer`. Refused: an `issuer` other than the one asked for (to the letter), and a
    /// server that does not offer PKCE with S256.
    pub(crate) fn read(body: &Value, issuer: &str) -> Result<ServerMetadata, String> {
        let stated = body.get("issuer").and_then(Value::as_str).unwrap_or_default();
        if stated != issuer {
            return Err(format!(
                "its metadata names another issuer ({}) than the one it was fetched for",
                origin(stated)
            ));
        }
        let token_endpoint =
            body.get("token_endpoint").and_then(Value::as_str).ok_or("its metadata has no token_endpoint")?;
        let authorization_endpoint = body.get("authorization_endpoint").and_then(Value::as_str).map(str::to_owned);
        if authorization_endpoint.is_some()
            && !strings(body, "code_challenge_methods_supported").iter().any(|m| m == "S256")
        {
            return Err("it does not offer PKCE with S256 (code_challenge_methods_supported)".into());
        }
        Ok(ServerMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint,
            token_endpoint: token_endpoint.to_owned(),
            registration_endpoint: body.get("registration_endpoint").and_then(Value::as_str).map(str::to_owned),
            scopes_supported: strings(body, "scopes_supported"),
            token_endpoint_auth_methods: strings(body, "token_endpoint_auth_methods_supported"),
            grant_types: strings(body, "grant_types_supported"),
            client_id_metadata_documents: body.get("client_id_metadata_document_supported") == Some(&Value::Bool(true)),
            iss_parameter: body.get("authorization_response_iss_parameter_supported") == Some(&Value::Bool(true)),
        })
    }

    /// The 2025-03-26 fallback for a server without metadata: the default endpoints on the MCP server's origin.
    pub(crate) fn defaults(server_url: &str) -> ServerMetadata {
        let origin = origin(server_url);
        ServerMetadata {
            issuer: origin.to_owned(),
            authorization_endpoint: Some(format!("{origin}/authorize")),
            token_endpoint: format!("{origin}/token"),
            registration_endpoint: Some(format!("{origin}/register")),
            ..ServerMetadata::default()
        }
    }
}

fn strings(body: &Value, key: &str) -> Vec<String> {
    let list = body.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    list.iter().filter_map(Value::as_str).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn discovery_order() {
        assert_eq!(
            resource_metadata_urls("http://h:1/mcp", None),
            ["http://h:1/.well-known/oauth-protected-resource/mcp", "http://h:1/.well-known/oauth-protected-resource"]
        );
        assert_eq!(resource_metadata_urls("http://h:1", None), ["http://h:1/.well-known/oauth-protected-resource"]);
        assert_eq!(resource_metadata_urls("http://h/mcp", Some("http://h/x.json")), ["http://h/x.json"]);
        assert_eq!(
            server_metadata_urls("http://h:1/tenant1"),
            [
                "http://h:1/.well-known/oauth-authorization-server/tenant1",
                "http://h:1/.well-known/openid-configuration/tenant1",
                "http://h:1/tenant1/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            server_metadata_urls("http://h:1"),
            ["http://h:1/.well-known/oauth-authorization-server", "http://h:1/.well-known/openid-configuration"]
        );
    }

    #[test]
    fn a_resource_must_be_the_server_or_a_parent_of_it() {
        let doc = |resource: &str| json!({"resource": resource, "authorization_servers": ["http://as"]});
        assert!(ResourceMetadata::read(&doc("http://h/mcp"), "http://h/mcp").is_ok());
        assert_eq!(
            ResourceMetadata::read(&doc("http://h"), "http://h/mcp").unwrap().resource,
            "http://h",
            "kept as written"
        );
        for other in ["https://evil.example.com/mcp", "http://h/mc", "http://h/mcp/deeper", "http://hx"] {
            assert!(ResourceMetadata::read(&doc(other), "http://h/mcp").is_err(), "{other}");
        }
        assert!(ResourceMetadata::read(&json!({"resource": "http://h/mcp"}), "http://h/mcp").is_err());
    }

    #[test]
    fn an_issuer_must_be_the_one_asked_for_and_offer_s256() {
        let doc = json!({"issuer": "http://as", "authorization_endpoint": "http://as/authorize", "token_endpoint": "http://as/token", "code_challenge_methods_supported": ["S256"], "authorization_response_iss_parameter_supported": true});
        let metadata = ServerMetadata::read(&doc, "http://as").unwrap();
        assert!(metadata.iss_parameter);
        assert!(ServerMetadata::read(&doc, "http://as/").is_err(), "no normalisation");
        let mut plain = doc.clone();
        plain["code_challenge_methods_supported"] = json!(["plain"]);
        assert!(ServerMetadata::read(&plain, "http://as").unwrap_err().contains("S256"));
        assert_eq!(ServerMetadata::defaults("http://h:1/mcp").token_endpoint, "http://h:1/token");
    }
}
