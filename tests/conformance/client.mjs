// The conformance client for @modelcontextprotocol/conformance, on the wasm core (Node host). The runner
// appends the scenario server's URL as the last argument and names the scenario in MCP_CONFORMANCE_SCENARIO.
// The protocol era is detected (auto), as an application would; MCP_LOOP_PROTOCOL can fix it.
import { connectMcp } from 'mcp-loop';

const url = process.argv.at(-1);
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}');

// The suite's authorization servers redirect at once, with the code: "the person" is a request that reads the
// redirect. Client details come from the context (pre-registered clients); the Client ID Metadata Document URL is
// the one the suite expects.
// Machine scenarios use the grants without a person.
const signIn = {
  redirectUri: 'http://localhost:3000/callback',
  clientId: context.client_id,
  clientSecret: context.client_secret,
  clientMetadataUrl: 'https://conformance-test.local/client-metadata.json',
  authorize: async (page) => {
    const response = await fetch(page, { redirect: 'manual' });
    return new URL(response.headers.get('location'), page).href;
  },
};
const auth = {
  'auth/client-credentials-basic': { grant: 'client_credentials', clientId: context.client_id, clientSecret: context.client_secret },
  'auth/client-credentials-jwt': { grant: 'client_credentials', clientId: context.client_id, privateKey: context.private_key_pem },
  'auth/enterprise-managed-authorization': {
    grant: 'enterprise',
    clientId: context.client_id,
    clientSecret: context.client_secret,
    idpTokenEndpoint: context.idp_token_endpoint,
    idToken: context.idp_id_token,
    idpClientId: context.idp_client_id,
  },
}[scenario] ?? signIn;

const connection = await connectMcp({
  url,
  protocol: process.env.MCP_LOOP_PROTOCOL ?? 'auto',
  timeoutMs: 20_000,
  ...(scenario.startsWith('auth/') && { auth }),
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
    // The authorization scenarios' server has one tool; calling it is a second authorized request.
    if (byName.has('test-tool')) await call('test-tool');
    // initialize, request-metadata, json-schema-ref-no-deref: connecting and listing is the scenario.
    break;
}
await connection.close();
