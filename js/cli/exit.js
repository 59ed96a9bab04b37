// How `mcp-loop` ends: its exit codes, and the error that carries one up to the entry.

import { McpLoopError } from '../errors.js';

/** The exit codes, as `--help` documents them. */
export const EXIT = { completed: 0, internal: 1, usage: 2, paused: 3, failed: 4, cancelled: 130 };

/** Ends the command with `code` after printing `mcp-loop: <message>`; `usage` adds where the usage is. */
export class Exit extends Error {
  constructor(code, message, { usage = false } = {}) {
    super(message);
    this.exitCode = code;
    this.usage = usage;
  }
}

/** A command line that cannot be right. */
export const usageError = (message) => new Exit(EXIT.usage, message, { usage: true });

/** A configuration, file or input that cannot be used. */
export const inputError = (message) => new Exit(EXIT.usage, message);

/** The exit code for what a command threw: an agent's `config` error is the user's configuration, `cancelled` an
 * interrupt, any other `McpLoopError` a failed run; anything else is a bug. */
export function exitCodeOf(error) {
  if (error instanceof Exit) return error.exitCode;
  if (error instanceof McpLoopError) return { config: EXIT.usage, cancelled: EXIT.cancelled }[error.code] ?? EXIT.failed;
  return EXIT.internal;
}
