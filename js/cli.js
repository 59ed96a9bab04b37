#!/usr/bin/env node
// The `mcp-loop` command.
//   mcp-loop convert [--server NAME] [--strict auto|true|false] [--prefix auto|always|never] [--max-description-chars N] [FILE]
//   mcp-loop run --server NAME=URL [--header NAME:KEY=VALUE]... [--model MODEL] [--verbose] QUESTION

import { readFileSync } from 'node:fs';
import { createAgent, toFunctionTools } from './node.js';

const USAGE = `usage:
  mcp-loop convert [--server NAME] [--strict auto|true|false] [--prefix auto|always|never]
                   [--max-description-chars N] [FILE]
      Reads a tools/list result or a JSON array of MCP tools (stdin when no FILE) and prints
      { "tools": [...], "notes": [...] }: the function tools exactly as the model gets them, with a note
      for every tool left out or not made strict, and why.
  mcp-loop run --server NAME=URL [--header NAME:HEADER=VALUE]... [--model MODEL] [--verbose] QUESTION
      Answers QUESTION with the tools of the given MCP servers. The model is reached through Portkey:
      PORTKEY_API_KEY, PORTKEY_PROVIDER | PORTKEY_VIRTUAL_KEY, PORTKEY_CONFIG, PORTKEY_BASE_URL,
      OPENAI_API_KEY (sent as the provider's Authorization), MCP_LOOP_MODEL (default gpt-4.1-mini).`;

function fail(message) {
  console.error(`mcp-loop: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse(args, repeated) {
  const flags = {};
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const name = arg.slice(2);
    const value = name === 'verbose' ? true : args[++i];
    if (value === undefined) fail(`${arg} needs a value`);
    if (repeated.includes(name)) (flags[name] ??= []).push(value);
    else flags[name] = value;
  }
  return { flags, rest };
}

async function readInput(file) {
  if (file) return readFileSync(file, 'utf8');
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function convert(args) {
  const { flags, rest } = parse(args, []);
  let tools;
  try {
    tools = JSON.parse(await readInput(rest[0]));
  } catch (error) {
    fail(`the input is not JSON: ${error.message}`);
  }
  const options = {};
  if (flags.server) options.server = flags.server;
  if (flags.prefix) options.toolPrefix = flags.prefix;
  if (flags.strict) options.strict = { true: true, false: false }[flags.strict] ?? flags.strict;
  if (flags['max-description-chars']) options.maxDescriptionChars = Number(flags['max-description-chars']);
  const out = toFunctionTools(tools, options);
  console.log(JSON.stringify({ tools: out.tools, notes: out.notes }, null, 2));
}

async function run(args) {
  const { flags, rest } = parse(args, ['server', 'header']);
  const question = rest.join(' ');
  if (!question) fail('run needs a QUESTION');
  if (!flags.server?.length) fail('run needs at least one --server NAME=URL');
  const servers = {};
  for (const spec of flags.server) {
    const [name, url] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
    // Neither message repeats the value: a URL or a header may carry a credential.
    if (!name || !url) fail('--server: expected NAME=URL');
    servers[name] = { url, headers: {} };
  }
  for (const spec of flags.header ?? []) {
    const match = spec.match(/^([^:]+):([^=]+)=(.*)$/);
    if (!match || !servers[match[1]]) fail(`--header${match ? ` for '${match[1]}'` : ''}: expected SERVER:HEADER=VALUE for a configured server`);
    servers[match[1]].headers[match[2]] = match[3];
  }
  const env = process.env;
  const portkey = {
    apiKey: env.PORTKEY_API_KEY,
    provider: env.PORTKEY_PROVIDER,
    virtualKey: env.PORTKEY_VIRTUAL_KEY,
    config: env.PORTKEY_CONFIG,
    baseURL: env.PORTKEY_BASE_URL,
    authorization: env.OPENAI_API_KEY && `Bearer ${env.OPENAI_API_KEY}`,
  };
  for (const key of Object.keys(portkey)) if (!portkey[key]) delete portkey[key];
  const agent = createAgent({ model: flags.model ?? env.MCP_LOOP_MODEL ?? 'gpt-4.1-mini', portkey, servers });
  try {
    const result = await agent.run(question, { onEvent: flags.verbose ? (e) => console.error(JSON.stringify(e)) : undefined });
    console.log(result.outputText);
    if (result.status !== 'completed') console.error(`(run ended: ${result.status}${result.incompleteReason ? `, ${result.incompleteReason}` : ''})`);
  } finally {
    await agent.close();
  }
}

const [command, ...args] = process.argv.slice(2);
try {
  switch (command) {
    case 'convert':
      await convert(args);
      break;
    case 'run':
      await run(args);
      break;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      break;
    default:
      fail(`unknown command '${command}'`);
  }
} catch (error) {
  console.error(`mcp-loop: ${error.message}`);
  process.exit(1);
}
