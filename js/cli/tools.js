// `mcp-loop tools`: each server's tools as the model gets them, whether each is strict, and the notes saying why not.

import { connectMcp, toFunctionTools } from '../node.js';
import { SERVER_FLAGS, redact, secretsOf, serversFrom } from './config.js';
import { EXIT, exitCodeOf, usageError } from './exit.js';

export const usage = `usage: mcp-loop tools [SERVERS] [--json]

Connects to each server and lists its tools as function tools: strict or not, and the conversion notes (tools left
out, tools not made strict, and why). Each server alone, so names carry no server prefix.

servers:
  --config FILE             an mcpServers file (Claude Desktop, Cursor; VS Code's "servers"); \${env:NAME} and
                            \${NAME} in its strings take values from the environment
  --server NAME=URL         an HTTP server; repeatable
  --stdio NAME="CMD ARGS"   a server started here, over stdin/stdout; repeatable
  --header SERVER:NAME=VALUE  a header for an HTTP server; repeatable
  --sign-in-port PORT       a server that asks for a sign-in (OAuth): the URL is printed here and the redirect
                            comes back to http://127.0.0.1:PORT/callback (default 8765, MCP_LOOP_SIGN_IN_PORT)
  --tokens FILE             where sign-ins are kept for the next run (MCP_LOOP_TOKENS; default
                            ~/.config/mcp-loop/tokens.json, readable by you only)
output:
  --json                    {"servers":[{ name, serverInfo, protocolVersion, tools, notes } or { name, error }]}

exit codes: 0 listed · 2 usage or configuration error · 4 a server could not be listed (the others still are)`;

export const options = { ...SERVER_FLAGS, json: { type: 'boolean' } };

export async function main({ values: flags, positionals }) {
  if (positionals.length) throw usageError('tools takes no arguments');
  const servers = await serversFrom(flags);
  if (!Object.keys(servers).length) throw usageError('tools needs servers: --config FILE, --server NAME=URL or --stdio NAME="CMD ARGS"');
  const secrets = secretsOf({ servers });
  const listed = await Promise.all(Object.entries(servers).map(([name, server]) => list(name, server)));
  if (flags.json) {
    const out = listed.map(({ exitCode: _, ...server }) => server);
    process.stdout.write(`${redact(JSON.stringify({ servers: out }, null, 2), secrets)}\n`);
  } else {
    for (const server of listed) print(server, secrets);
  }
  // A configuration error is the user's to fix first; any other failure is the server's.
  const codes = listed.map((s) => s.exitCode ?? EXIT.completed);
  return codes.includes(EXIT.usage) ? EXIT.usage : codes.some((c) => c !== EXIT.completed) ? EXIT.failed : EXIT.completed;
}

/** One server's tools, or why they could not be listed. */
async function list(name, server) {
  let connection;
  try {
    connection = await connectMcp({ name, ...server });
    const { tools, notes } = toFunctionTools(await connection.listTools(), { server: name });
    return { name, serverInfo: connection.serverInfo, protocolVersion: connection.protocolVersion, tools, notes };
  } catch (error) {
    return { name, error: error.message, exitCode: exitCodeOf(error) };
  } finally {
    await connection?.close();
  }
}

function print(server, secrets) {
  const say = (stream, text) => stream.write(`${redact(text, secrets)}\n`);
  if (server.error) return say(process.stderr, `mcp-loop: ${server.error}`);
  const { name, serverInfo, protocolVersion, tools, notes } = server;
  const strict = tools.filter((t) => t.strict).length;
  const about = [serverInfo && [serverInfo.name, serverInfo.version].filter(Boolean).join(' '), protocolVersion].filter(Boolean).join(', ');
  say(process.stdout, `${name}: ${tools.length} tools, ${strict} strict${about ? ` (${about})` : ''}`);
  for (const tool of tools) say(process.stdout, `  ${tool.strict ? 'strict    ' : 'not strict'}  ${tool.name}`);
  for (const note of notes) say(process.stdout, `  note: ${note}`);
}
