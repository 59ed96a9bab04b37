// The conformance client for @modelcontextprotocol/conformance, on the wasm core (Node host). The runner
// appends the scenario server's URL as the last argument and names the scenario in MCP_CONFORMANCE_SCENARIO.
// The protocol era is detected (auto), as an application would; MCP_LOOP_PROTOCOL can fix it.
import { connectMcp } from 'mcp-loop';

const url = process.argv.at(-1);
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}');

const connection = await connectMcp({
  url,
  protocol: process.env.MCP_LOOP_PROTOCOL ?? 'auto',
  timeoutMs: 20_000,
  handlers: {
    // Accept with nothing filled in: the client applies the requested schema's defaults (SEP-1034); a
    // boolean confirmation is answered yes.
    elicitation: (params) => {
      const properties = params?.requestedSchema?.properties ?? {};
      const content = {};
      for (const [key, schema] of Object.entries(properties)) {
        if (schema?.type === 'boolean' && schema.default === undefined) content[key] = true;
      }
      return { action: 'accept', content };
    },
    sampling: () => ({ role: 'assistant', content: { type: 'text', text: 'ok' }, model: 'conformance', stopReason: 'endTurn' }),
    roots: () => ({ roots: [] }),
  },
  onEvent: (event) => console.error(JSON.stringify(event)),
});

const tools = await connection.listTools();
const byName = new Map(tools.map((t) => [t.name, t]));
const call = async (name, args = {}) => console.log(name, JSON.stringify(await connection.callTool(name, args)));

switch (scenario) {
  case 'tools_call':
    await call('add_numbers', { a: 2, b: 3 });
    break;
  case 'elicitation-sep1034-client-defaults':
    await call('test_client_elicitation_defaults');
    break;
  case 'sse-retry':
    await call('test_reconnection');
    break;
  case 'json-schema-2020-12-preservation':
    await call('json_schema_echo', { schema: byName.get('json_schema_2020_12_tool').inputSchema });
    break;
  case 'sep-2322-client-request-state':
    for (const name of ['test_mrtr_echo_state', 'test_mrtr_unrelated', 'test_mrtr_no_state', 'test_mrtr_no_result_type']) {
      await call(name);
    }
    break;
  case 'http-standard-headers':
    for (const tool of tools) await call(tool.name);
    break;
  case 'http-custom-headers':
    for (const { name, arguments: args } of context.toolCalls ?? []) await call(name, args);
    break;
  case 'http-invalid-tool-headers':
    // Only the tools the client kept can be called: every one with an invalid x-mcp-header was dropped.
    for (const tool of tools) await call(tool.name, { region: 'us-east1' });
    break;
  default:
    // initialize, request-metadata, json-schema-ref-no-deref: connecting and listing is the scenario.
    break;
}
await connection.close();
