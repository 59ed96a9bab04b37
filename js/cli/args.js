// Command lines: flags (node:util parseArgs, strict), and a command given as one string, split like a shell would.

import { parseArgs } from 'node:util';
import { usageError } from './exit.js';

/** `argv` read against a command's `options` (every command also takes --help): `{ values, positionals }`. */
export function parse(argv, options) {
  try {
    return parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains how to pass a value starting with '-' in further sentences; the first one says what is wrong.
    throw usageError(error.message.split('. ')[0]);
  }
}

/**
 * Splits `text` into words as a POSIX shell would for simple quoting: whitespace separates, '…' is literal, "…"
 * keeps \" \\ \$ \` as escapes, and a backslash outside quotes escapes the next character. No variables, globs or
 * operators. Returns null for an unterminated quote.
 */
export function splitCommand(text) {
  const words = [];
  let word = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return null;
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= '';
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && '"\\$`'.includes(text[i + 1])) i++;
        word += text[i];
      }
      if (i >= text.length) return null;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}
