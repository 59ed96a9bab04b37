use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn base64_matches_the_standard() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64("Hello, 世界".as_bytes()), "SGVsbG8sIOS4lueVjA==");
}

#[test]
fn header_values_are_wrapped_only_when_unsafe() {
    for plain in ["us-west1", "us west 1", "", "42"] {
        assert_eq!(header_value(plain), plain);
    }
    assert_eq!(header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
    assert_eq!(header_value("line1\r\nline2"), "=?base64?bGluZTENCmxpbmUy?=");
    assert_eq!(header_value("\tindented"), "=?base64?CWluZGVudGVk?=");
    assert_eq!(header_value("=?base64?x?="), "=?base64?PT9iYXNlNjQ/eD89?=", "a value that looks wrapped is wrapped");
}
