// A person's command-line program for the authorization tests: connects to a protected MCP server with mcp-loop's
// Node default sign-in (the URL on stderr, a listener on the loopback redirect URI), calls `whoami`, waits until
// the access token has expired, and calls it again. Each step is one JSON line on stdout.
//
// `node tests/support/auth-agent.mjs <mcp url> <redirect uri> <wait ms>`

import { connectMcp } from 'mcp-loop';

const [url, redirectUri, waitMs] = process.argv.slice(2);
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const text = (result) => ({ text: result.content.map((part) => part.text).join(''), isError: result.isError ?? false });

try {
  const connection = await connectMcp({ url, auth: { redirectUri } });
  say({ tools: (await connection.listTools()).map((tool) => tool.name) });
  say({ call: 1, ...text(await connection.callTool('whoami')) });
  await new Promise((resolve) => setTimeout(resolve, Number(waitMs)));
  say({ call: 2, ...text(await connection.callTool('whoami')) });
  await connection.close();
} catch (error) {
  say({ error: error.message });
  process.exitCode = 1;
}
