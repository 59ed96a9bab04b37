// Errors as the application sees them: one class, with the core's `code`.

/** An error from mcp-loop: `code` is 'config' | 'mcp' | 'model' | 'cancelled' | 'host'; `server` names the MCP server. */
export class McpLoopError extends Error {
  constructor(text, fields = {}) {
    super(text);
    this.name = 'McpLoopError';
    this.code = fields.code ?? 'host';
    if (fields.status !== undefined) this.status = fields.status;
    if (fields.server !== undefined) this.server = fields.server;
    // A browser-refused request's origin: a field, not in the text, which may be logged or read by the model.
    if (fields.origin !== undefined) this.origin = fields.origin;
    if (fields.message !== undefined) this.detail = fields.message;
  }
}

/** Errors thrown by the wasm bindings are `Error`s with a `code`; give them our class and name. */
export function wrap(error) {
  if (error instanceof Error && typeof error.code === 'string') {
    return new McpLoopError(error.message, { code: error.code, status: error.status, server: error.server });
  }
  return error;
}

export const configError = (message) => new McpLoopError(message, { code: 'config' });

/** `fn()`, with what the core throws turned into an `McpLoopError`. */
export function guarded(fn) {
  try {
    return fn();
  } catch (error) {
    throw wrap(error);
  }
}

/** A core failure given as a `done` or `opDone` output. */
export const failure = (out) => new McpLoopError(out.text, out.error);

/** Why a signal aborted, as text. */
export const reason = (signal) => String(signal?.reason?.message ?? signal?.reason ?? 'aborted');
