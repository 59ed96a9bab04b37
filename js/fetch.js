// Requests through `fetch`: a browser's, or the application's own, as the host's transport.

/** A fetch `Response` as a transport's response. The body is read through its reader: not every browser can
 * iterate a stream, and the reader can be cancelled before the first read. */
export function fromResponse(response) {
  const reader = response.body?.getReader();
  const chunks = {
    next: () => (reader ? reader.read() : Promise.resolve({ done: true })),
    return: () => (reader?.cancel().catch(() => {}), Promise.resolve({ done: true })),
    [Symbol.asyncIterator]: () => chunks,
  };
  return { status: response.status, headers: [...response.headers], body: chunks };
}

const utf8 = new TextDecoder();

/** A transport on `fetch`: a browser's, or the application's own (which gets the body as text, as it always has:
 * wrappers read it). */
export const fetchTransport = (fetch) => async (request, signal) => {
  const body = request.body && utf8.decode(request.body);
  return fromResponse(await fetch(request.url, { method: request.method, headers: request.headers, body, signal }));
};
