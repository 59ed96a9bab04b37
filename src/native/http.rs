//! HTTP effects performed with reqwest: the response head, each body chunk and the end go back to the driver.

use super::host::Input;
use crate::base::http::HttpRequest;
use crate::base::io::EffectId;
use tokio::sync::mpsc;

pub(super) async fn perform(
    http: reqwest::Client,
    id: EffectId,
    request: HttpRequest,
    inputs: mpsc::UnboundedSender<Input>,
) {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut builder = http.request(method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let mut response = match builder.send().await {
        Ok(response) => response,
        Err(e) => {
            let lasting = lasting(&e);
            let _ = inputs.send(Input::Failed(id, describe(e), lasting));
            return;
        }
    };
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let _ = inputs.send(Input::Head(id, response.status().as_u16(), headers));
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                let _ = inputs.send(Input::Chunk(id, bytes.to_vec()));
            }
            Ok(None) => {
                let _ = inputs.send(Input::End(id));
                return;
            }
            Err(e) => {
                let _ = inputs.send(Input::Failed(id, describe(e), false));
                return;
            }
        }
    }
}

/// Whether trying again cannot help: a request that could not be built (an unsupported scheme) or a server
/// certificate that is not trusted, expired or for another name.
fn lasting(error: &reqwest::Error) -> bool {
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        // An io::Error's `source` skips the error it wraps (rustls's comes wrapped twice): unwrapped by `get_ref`.
        let mut inner: &dyn std::error::Error = cause;
        while let Some(wrapped) = inner.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            inner = wrapped;
        }
        if matches!(inner.downcast_ref::<rustls::Error>(), Some(rustls::Error::InvalidCertificate(_))) {
            return true;
        }
        next = cause.source();
    }
    error.is_builder()
}

/// The error and its causes, without the URL (reqwest puts it in its message).
pub(super) fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}
