// `mcp-loop convert`: MCP tools in, the function tools the model gets out, with a note for every tool left out or
// not made strict.

import { toFunctionTools } from '../node.js';
import { inputError, usageError } from './exit.js';
import { readStdin, readText } from './input.js';

export const usage = `usage: mcp-loop convert [--server NAME] [--strict auto|true|false] [--prefix auto|always|never]
                        [--max-description-chars N] [FILE]

Reads a tools/list result or a JSON array of MCP tools (stdin when no FILE) and prints
{ "tools": [...], "notes": [...] }: the function tools exactly as the model gets them, with a note for every tool
left out or not made strict, and why.

exit codes: 0 converted · 2 usage error, or an input that cannot be read or is not JSON`;

export const options = {
  server: { type: 'string' },
  strict: { type: 'string' },
  prefix: { type: 'string' },
  'max-description-chars': { type: 'string' },
};

export async function main({ values: flags, positionals }) {
  if (positionals.length > 1) throw usageError('convert takes one FILE at most');
  const text = positionals.length ? await readText(positionals[0]) : await readStdin();
  let tools;
  try {
    tools = JSON.parse(text);
  } catch (error) {
    throw inputError(`the input is not JSON: ${error.message}`);
  }
  const options = {};
  if (flags.server) options.server = flags.server;
  if (flags.prefix) options.toolPrefix = flags.prefix;
  if (flags.strict) options.strict = { true: true, false: false }[flags.strict] ?? flags.strict;
  if (flags['max-description-chars']) options.maxDescriptionChars = Number(flags['max-description-chars']);
  const out = toFunctionTools(tools, options);
  console.log(JSON.stringify({ tools: out.tools, notes: out.notes }, null, 2));
}
