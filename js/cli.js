#!/usr/bin/env node
// The `mcp-loop` command: picks the command, reads its flags, and exits with the code it gives (js/cli/exit.js).
// The commands live in js/cli/: run, tools, convert.

import { readFileSync } from 'node:fs';
import { parse } from './cli/args.js';
import * as convert from './cli/convert.js';
import { EXIT, Exit, exitCodeOf, usageError } from './cli/exit.js';
import * as run from './cli/run.js';
import * as tools from './cli/tools.js';

const COMMANDS = { run, tools, convert };

const USAGE = `mcp-loop: a model behind Portkey, with private MCP servers as its tools, handled on this machine.

usage:
  mcp-loop run [SERVERS] [MODEL] [--approve never|destructive|always] [--json] QUESTION
      Answers QUESTION with the servers' tools.
  mcp-loop tools [SERVERS] [--json]
      Lists each server's tools as the model gets them: strict or not, and why.
  mcp-loop convert [--server NAME] [--strict …] [--prefix …] [--max-description-chars N] [FILE]
      Converts a tools/list result to function tools, as JSON.
  mcp-loop --version
  mcp-loop COMMAND --help     the flags of a command

SERVERS: --config FILE (an mcpServers file, as Claude Desktop, Cursor and VS Code write), --server NAME=URL,
--stdio NAME="CMD ARGS", --header SERVER:NAME=VALUE. MODEL: --model, --instructions, --base-url, --provider,
--custom-host, --config-id, or the PORTKEY_* variables, OPENAI_API_KEY and MCP_LOOP_MODEL (see run --help).

exit codes: 0 completed · 1 a bug in mcp-loop · 2 usage or configuration error · 3 paused for approval with no
terminal to ask · 4 failed · 130 interrupted`;

const version = () => JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

async function main([name, ...argv]) {
  if (name === '--version' || name === '-v') return console.log(version());
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    return console.log(COMMANDS[argv[0]]?.usage ?? USAGE);
  }
  const command = COMMANDS[name];
  if (!command) throw usageError(`unknown command '${name}'`);
  const args = parse(argv, command.options);
  if (args.values.help) return console.log(command.usage);
  return command.main(args);
}

const argv = process.argv.slice(2);
let code;
try {
  code = (await main(argv)) ?? EXIT.completed;
} catch (error) {
  code = exitCodeOf(error);
  const command = COMMANDS[argv[0]] ? ` ${argv[0]}` : '';
  const hint = error instanceof Exit && error.usage ? `\nRun 'mcp-loop${command} --help' for the usage.` : '';
  console.error(`mcp-loop: ${code === EXIT.internal ? error?.stack ?? error : error.message}${hint}`);
}
// Once stdout is flushed: a server process or a socket that lingers must not keep the command alive.
process.stdout.write('', () => process.exit(code));
