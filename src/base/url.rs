//! URLs, as far as the core reads them.

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

/// `%XX` escapes decoded (invalid ones kept as they are; bytes that are not UTF-8 replaced).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match hex.filter(|_| bytes[i] == b'%').and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `application/x-www-form-urlencoded` (and query) encoding of one name or value: unreserved characters as they
/// are, every other byte as `%XX` (space included, so a value reads the same in a query and in a form body).
pub(crate) fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `name=value&…` with every part encoded.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect();
    encoded.join("&")
}

/// The decoded `name=value` pairs of a URL's query (`+` is a space), in order.
pub(crate) fn query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    let decode = |part: &str| percent_decode(&part.replace('+', " "));
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// The path of a URL (`/` when it has none), without query or fragment.
pub(crate) fn path(url: &str) -> &str {
    let rest = &url[origin(url).len()..];
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    if end == 0 { "/" } else { &rest[..end] }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn origin_of_urls() {
        assert_eq!(origin("http://a:1/b?c"), "http://a:1");
        assert_eq!(origin("https://a"), "https://a");
    }

    #[test]
    fn forms_queries_and_paths() {
        assert_eq!(form(&[("a b", "x/y=z&é"), ("c", "")]), "a%20b=x%2Fy%3Dz%26%C3%A9&c=");
        assert_eq!(
            query_pairs("http://h/cb?code=a%2Bb&state=x+y&iss=http%3A%2F%2Fh&flag#frag"),
            [("code", "a+b"), ("state", "x y"), ("iss", "http://h"), ("flag", "")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert!(query_pairs("http://h/cb").is_empty());
        assert_eq!((path("http://h:1/a/b?q#f"), path("http://h"), path("http://h?q")), ("/a/b", "/", "/"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%3d%20c%zz%4"), "a/b= c%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
