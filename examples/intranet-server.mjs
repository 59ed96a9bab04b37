// A small private MCP server of the kind an intranet has: a staff directory, calendars and a ticket search.
// Built on the official MCP TypeScript SDK (Streamable HTTP, sessions), listening on loopback only and
// requiring a bearer token, the way a real internal service would.
//
// Run alone: `node examples/intranet-server.mjs [port]`.

import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export const DEMO_TOKEN = 'intranet-demo-token';

const people = [
  { id: 'u-1001', name: 'Ada Lovelace', title: 'Principal Engineer', team: 'Analytical Engines', email: 'ada@intranet.example', office: 'London' },
  { id: 'u-1002', name: 'Grace Hopper', title: 'Director of Compilers', team: 'Languages', email: 'grace@intranet.example', office: 'Arlington' },
  { id: 'u-1003', name: 'Alan Turing', title: 'Research Lead', team: 'Machine Intelligence', email: 'alan@intranet.example', office: 'Manchester' },
];

const calendars = {
  'u-1001': [
    { time: '09:30', title: 'Stand-up', room: 'Babbage' },
    { time: '13:00', title: 'Design review: Difference Engine v2', room: 'Jacquard' },
    { time: '16:00', title: '1:1 with Charles', room: 'online' },
  ],
  'u-1002': [{ time: '10:00', title: 'COBOL steering group', room: 'Mark I' }],
  'u-1003': [],
};

const tickets = [
  { id: 'IT-4211', title: 'VPN drops every 30 minutes on the Berlin office Wi-Fi', status: 'open', assignee: 'network-team' },
  { id: 'IT-4230', title: 'VPN client needs an update for macOS 16', status: 'open', assignee: 'desktop-support' },
  { id: 'IT-4102', title: 'Printer on the 3rd floor is out of toner', status: 'closed', assignee: 'facilities' },
];

const tools = [
  {
    name: 'directory_lookup',
    title: 'Staff directory',
    description: 'Find a colleague in the staff directory by (part of) their name. Returns their id, title, team, email and office.',
    inputSchema: { type: 'object', properties: { name: { type: 'string', description: 'Full or partial name' } }, required: ['name'] },
    annotations: { readOnlyHint: true },
  },
  {
    name: 'calendar_events',
    title: 'Calendar',
    description: "List a colleague's meetings for a day.",
    inputSchema: {
      type: 'object',
      properties: {
        person_id: { type: 'string', description: 'The id from the staff directory, like u-1001' },
        date: { type: 'string', description: 'YYYY-MM-DD; today when omitted' },
      },
      required: ['person_id'],
    },
    annotations: { readOnlyHint: true },
  },
  {
    name: 'ticket_search',
    title: 'IT tickets',
    description: 'Search the IT ticket system.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'Words to look for in ticket titles' },
        status: { type: 'string', enum: ['open', 'closed', 'any'], description: 'Default: any' },
      },
      required: ['query'],
    },
    annotations: { readOnlyHint: true },
  },
];

const text = (value) => ({ content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] });
const failure = (message) => ({ content: [{ type: 'text', text: message }], isError: true });

function callTool(name, args = {}) {
  switch (name) {
    case 'directory_lookup': {
      const query = String(args.name ?? '').toLowerCase();
      const found = people.filter((p) => query && p.name.toLowerCase().includes(query));
      if (found.length === 0) return failure(`Nobody in the directory matches '${args.name}'.`);
      return text(found.length === 1 ? found[0] : found);
    }
    case 'calendar_events': {
      const events = calendars[args.person_id];
      if (!events) return failure(`Unknown person id '${args.person_id}'. Look the person up in the directory first.`);
      const date = args.date ?? new Date().toISOString().slice(0, 10);
      return text({ person_id: args.person_id, date, events });
    }
    case 'ticket_search': {
      const words = String(args.query ?? '').toLowerCase().split(/\s+/).filter(Boolean);
      const status = args.status ?? 'any';
      const found = tickets.filter(
        (t) => (status === 'any' || t.status === status) && words.every((w) => t.title.toLowerCase().includes(w)),
      );
      return text({ query: args.query, status, tickets: found });
    }
    default:
      throw new Error(`Unknown tool: ${name}`);
  }
}

function mcpServer() {
  const server = new Server({ name: 'intranet-demo', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => callTool(request.params.name, request.params.arguments));
  return server;
}

/**
 * Starts the server on 127.0.0.1 (`port` 0 picks a free one). Resolves to `{ url, token, forgetSessions,
 * close }`; `forgetSessions()` makes it answer 404 to every session it knew, like a restarted server.
 */
export function startIntranetServer({ port = 0, token = DEMO_TOKEN } = {}) {
  const sessions = new Map();
  const http = createServer(async (req, res) => {
    if (new URL(req.url, 'http://x').pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Unauthorized' }, id: null }));
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    let transport = sessionId && sessions.get(sessionId);
    if (!transport) {
      if (sessionId || req.method !== 'POST') {
        res.writeHead(sessionId ? 404 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: sessionId ? 'Session not found' : 'Bad Request: no session' }, id: null }));
        return;
      }
      // A POST without a session must be `initialize`; the SDK's transport checks that and answers 400 otherwise.
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
      await mcpServer().connect(transport);
    }
    await transport.handleRequest(req, res);
  });
  return new Promise((resolve, reject) => {
    http.on('error', reject);
    http.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${http.address().port}/mcp`,
        token,
        forgetSessions: () => {
          const old = [...sessions.values()];
          sessions.clear();
          for (const transport of old) transport.close().catch(() => {});
        },
        close: async () => {
          for (const transport of sessions.values()) await transport.close();
          http.closeAllConnections();
          await new Promise((r) => http.close(r));
        },
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startIntranetServer({ port: Number(process.argv[2] ?? 0) });
  console.log(`intranet MCP server listening on ${server.url} (Authorization: Bearer ${server.token})`);
}
