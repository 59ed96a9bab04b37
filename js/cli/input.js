// What commands read: files, with a message that says why one could not be read, and stdin.

import { readFile } from 'node:fs/promises';
import { inputError } from './exit.js';

const REASONS = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/** The text of `file`, or an exit naming the file and why it cannot be read. */
export async function readText(file) {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw inputError(`cannot read ${file}: ${REASONS[error.code] ?? error.message}`);
  }
}

/** All of stdin as text. */
export async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
