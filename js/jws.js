// ES256 signatures for a client's assertion (`private_key_jwt`), with the platform's WebCrypto: the key stays in
// the host, the core only gets signatures.

/** `sign(input)` → the base64url ES256 signature (`r || s`) of `input` with `pem`, a PKCS#8 P-256 private key. */
export function es256Signer(pem) {
  let key;
  return async (input) => {
    key ??= crypto.subtle.importKey('pkcs8', der(pem), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, await key, new TextEncoder().encode(input));
    return base64url(new Uint8Array(signature));
  };
}

function der(pem) {
  const body = String(pem).replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

function base64url(bytes) {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
