// A stand-in for the model: the one part of the system that cannot run here. It speaks the real OpenAI
// Responses API wire format (POST /v1/responses, JSON or SSE when `stream: true`), keeps stored responses for
// `previous_response_id`, and refuses requests the real API refuses (bad tool names, a function call without
// its output, an unknown previous response). It chooses tools by simple rules over the user's words:
//
//   "add 2 and 3" / "what is 2 + 3"   → a *sum tool (get-sum)           numbers from the text
//   echo "some text"                    → an *echo tool                    the quoted text
//   "who is Ada Lovelace"               → a directory/lookup tool          the name
//   "tickets about VPN"                 → a *ticket* tool                  the topic
//   "calendar" / "meetings"             → a *calendar* tool, once the directory answered with an "id"
//   "tiny image"                        → a *image* tool
//   "resource links"                    → a *resource-links* tool          no arguments
//
// Like a real model in strict mode, it sends every property of a `strict: true` tool, `null` for the optional
// ones (strict schemas list every property as required and make the optional ones nullable); and like the real
// API it refuses a strict tool whose schema breaks the strict rules it checks.
//
// Independent calls go out together in one turn; when nothing is left to call it answers with every tool
// output it received. `GET /__requests` returns what it was sent (headers and bodies), for tests.
//
// Run alone: `node tests/support/model-standin.mjs [port]` prints `model stand-in listening on <url>`.

import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

const id = (prefix) => `${prefix}_${randomBytes(12).toString('hex')}`;

function apiError(status, message, param = null, code = null, type = 'invalid_request_error') {
  return { status, body: { error: { message, type, param, code } } };
}

/** The conversation so far: the chain of stored responses, then this request's input. */
function conversation(store, request) {
  const items = [];
  const chain = [];
  for (let prev = request.previous_response_id; prev; prev = store.get(prev)?.request.previous_response_id) {
    chain.unshift(store.get(prev));
  }
  for (const { request: r, response } of chain) {
    items.push(...inputItems(r.input), ...response.output);
  }
  items.push(...inputItems(request.input));
  return items;
}

function inputItems(input) {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  return Array.isArray(input) ? input : [];
}

function textOf(content) {
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => part.text ?? '').join(' ');
}

function validate(store, request) {
  if (typeof request.model !== 'string' || !request.model) {
    return apiError(400, "Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  }
  if (typeof request.input !== 'string' && !Array.isArray(request.input)) {
    return apiError(400, "Invalid type for 'input': expected a string or an array.", 'input', 'invalid_type');
  }
  for (const [i, tool] of (request.tools ?? []).entries()) {
    if (tool.type !== 'function') continue;
    if (typeof tool.name !== 'string' || !NAME_PATTERN.test(tool.name)) {
      return apiError(400, `Invalid 'tools[${i}].name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, `tools[${i}].name`, 'invalid_value');
    }
    if (tool.name.length > 64) {
      return apiError(400, `Invalid 'tools[${i}].name': string too long. Expected a string with maximum length 64, but got a string with length ${tool.name.length} instead.`, `tools[${i}].name`, 'string_above_max_length');
    }
    if (tool.parameters?.type !== 'object') {
      return apiError(400, `Invalid schema for function '${tool.name}': schema must be a JSON Schema of 'type: "object"', got 'type: "${tool.parameters?.type}"'.`, `tools[${i}].parameters`, 'invalid_function_parameters');
    }
    const problem = tool.strict === true && strictProblem(tool.parameters, []);
    if (problem) {
      return apiError(400, `Invalid schema for function '${tool.name}': ${problem}`, `tools[${i}].parameters`, 'invalid_function_parameters');
    }
  }
  const prev = request.previous_response_id;
  if (prev && !store.has(prev)) {
    return apiError(400, `Previous response with id '${prev}' not found.`, 'previous_response_id', 'previous_response_not_found');
  }
  const input = inputItems(request.input);
  const outputs = new Set(input.filter((i) => i.type === 'function_call_output').map((i) => i.call_id));
  const calls = new Set(input.filter((i) => i.type === 'function_call').map((i) => i.call_id));
  if (prev) {
    for (const item of store.get(prev).response.output) {
      if (item.type === 'function_call') calls.add(item.call_id);
      if (item.type === 'function_call' && !outputs.has(item.call_id)) {
        return apiError(400, `No tool output found for function call ${item.call_id}.`, 'input');
      }
    }
  }
  for (const callId of outputs) {
    if (!calls.has(callId)) {
      return apiError(400, `No tool call found for function call output with call_id ${callId}.`, 'input');
    }
  }
  return null;
}

/** The first strict-mode rule `schema` breaks, worded as the real API words it (the rules the tests rely on). */
function strictProblem(schema, context) {
  if (!schema || typeof schema !== 'object') return `In context=(${context}), schema must be an object.`;
  if (schema.$ref !== undefined && Object.keys(schema).length > 1) {
    return `In context=(${context}), $ref cannot have keywords {${Object.keys(schema).filter((k) => k !== '$ref').map((k) => `'${k}'`).join(', ')}}.`;
  }
  const types = [schema.type].flat();
  if (types.includes('object')) {
    if (schema.additionalProperties !== false) {
      return `In context=(${context}), 'additionalProperties' is required to be supplied and to be false.`;
    }
    const keys = Object.keys(schema.properties ?? {});
    const required = schema.required ?? [];
    const missing = keys.find((k) => !required.includes(k));
    if (missing) return `In context=(${context}), 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`;
  }
  if (types.includes('array') && !schema.items) return `In context=(${context}), array schema missing items.`;
  const children = [
    ...Object.entries(schema.properties ?? {}).map(([k, v]) => [v, [...context, "'properties'", `'${k}'`]]),
    ...Object.entries(schema.$defs ?? {}).map(([k, v]) => [v, [...context, "'$defs'", `'${k}'`]]),
    ...(schema.anyOf ?? []).map((v, i) => [v, [...context, "'anyOf'", String(i)]]),
    ...(schema.items ? [[schema.items, [...context, "'items'"]]] : []),
  ];
  for (const [child, where] of children) {
    const problem = strictProblem(child, where);
    if (problem) return problem;
  }
  return null;
}

/** Whether a (strict) property schema lets the model send `null`. */
function nullable(schema) {
  return [schema?.type].flat().includes('null') || (schema?.anyOf ?? []).some((b) => b?.type === 'null');
}

/** Finds the offered tool whose name (after any server prefix) matches. */
function findTool(tools, pattern) {
  return tools.find((t) => t.type === 'function' && pattern.test(t.name.split('__').pop()));
}

function props(tool, type) {
  return Object.entries(tool.parameters?.properties ?? {})
    .filter(([, schema]) => type.includes(schema?.type) || (Array.isArray(schema?.type) && schema.type.some((t) => type.includes(t))))
    .map(([name]) => name);
}

/** The calls the rules want, given the user's text and the results so far (`[{ name, output }]`). */
function plan(text, tools, results) {
  const wanted = [];
  const sum = text.match(/(?:add|sum of|what is)\s+(-?\d+(?:\.\d+)?)\s*(?:\+|and|plus)\s*(-?\d+(?:\.\d+)?)/i);
  const sumTool = sum && findTool(tools, /sum|add/i);
  if (sumTool) {
    const [a = 'a', b = 'b'] = props(sumTool, ['number', 'integer']);
    wanted.push({ tool: sumTool.name, args: { [a]: Number(sum[1]), [b]: Number(sum[2]) } });
  }
  const echo = text.match(/echo\s+["'“]([^"'”]+)["'”]/i);
  const echoTool = echo && findTool(tools, /echo/i);
  if (echoTool) {
    const [field = 'message'] = props(echoTool, ['string']);
    wanted.push({ tool: echoTool.name, args: { [field]: echo[1] } });
  }
  const who = text.match(/[Ww]ho is ([A-Z][\w'-]+(?: [A-Z][\w'-]+)*)/);
  const whoTool = who && findTool(tools, /directory|lookup|person|people/i);
  if (whoTool) {
    const [field = 'name'] = props(whoTool, ['string']);
    wanted.push({ tool: whoTool.name, args: { [field]: who[1] } });
  }
  const tickets = text.match(/tickets?\s+(?:about|on|for|mentioning)\s+["']?([\w -]+?)["']?(?=[?.!,]|\s+and\b|$)/i);
  const ticketTool = tickets && findTool(tools, /ticket/i);
  if (ticketTool) {
    const open = /open tickets?/i.test(text) && 'status' in (ticketTool.parameters?.properties ?? {});
    wanted.push({ tool: ticketTool.name, args: { query: tickets[1].trim(), ...(open ? { status: 'open' } : {}) } });
  }
  const calendarTool = /calendar|meetings|schedule/i.test(text) && findTool(tools, /calendar/i);
  if (calendarTool) {
    const fromDirectory = results.filter((r) => /directory|lookup|person|people/i.test(r.name.split('__').pop()));
    const person = fromDirectory.map((r) => outputText(r.output).match(/"id"\s*:\s*"([^"]+)"/)).find(Boolean);
    if (person) {
      const [field = 'person_id'] = props(calendarTool, ['string']).filter((p) => /person|user|id|email/i.test(p));
      wanted.push({ tool: calendarTool.name, args: { [field]: person[1] } });
    }
  }
  const imageTool = /tiny image/i.test(text) && findTool(tools, /image/i);
  if (imageTool) wanted.push({ tool: imageTool.name, args: {} });
  const linksTool = /resource links/i.test(text) && findTool(tools, /resource[-_]links/i);
  if (linksTool) wanted.push({ tool: linksTool.name, args: {} });
  // Strict tools get every property; the optional ones (nullable in a strict schema) as null.
  for (const call of wanted) {
    const tool = tools.find((t) => t.name === call.tool);
    if (!tool?.strict) continue;
    for (const [name, schema] of Object.entries(tool.parameters?.properties ?? {})) {
      if (!(name in call.args) && nullable(schema)) call.args[name] = null;
    }
  }
  return wanted;
}

function outputText(output) {
  if (typeof output === 'string') return output;
  return (output ?? []).map((part) => (part.type === 'input_text' ? part.text : `[${part.type}]`)).join('\n');
}

/** Decides this turn's output items. */
function respond(items, tools) {
  const text = items.filter((i) => i.role === 'user').map((i) => textOf(i.content)).join('\n');
  const calls = items.filter((i) => i.type === 'function_call');
  const outputs = items.filter((i) => i.type === 'function_call_output');
  const done = new Set(calls.map((c) => `${c.name} ${c.arguments}`));
  const results = calls.map((c) => ({ name: c.name, output: outputs.find((o) => o.call_id === c.call_id)?.output }));
  const next = plan(text, tools, results).filter((w) => !done.has(`${w.tool} ${JSON.stringify(w.args)}`));
  if (next.length > 0) {
    return next.map((w) => ({
      id: id('fc'),
      type: 'function_call',
      status: 'completed',
      arguments: JSON.stringify(w.args),
      call_id: id('call'),
      name: w.tool,
    }));
  }
  const lines = calls.map((call) => {
    const out = outputs.find((o) => o.call_id === call.call_id);
    return `- ${call.name}: ${outputText(out?.output).slice(0, 600)}`;
  });
  const answer = lines.length
    ? `Here is what the tools returned:\n${lines.join('\n')}`
    : `(stand-in model) No tool applies to that, so here is your message back: ${text}`;
  return [
    {
      id: id('msg'),
      type: 'message',
      status: 'completed',
      content: [{ type: 'output_text', annotations: [], logprobs: [], text: answer }],
      role: 'assistant',
    },
  ];
}

function responseObject(request, output, status) {
  const inputTokens = Math.ceil(JSON.stringify(request.input ?? '').length / 4) + 10;
  const outputTokens = Math.ceil(JSON.stringify(output).length / 4);
  return {
    id: id('resp'),
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: null,
    model: request.model,
    output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: request.store ?? true,
    temperature: request.temperature ?? 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: request.tool_choice ?? 'auto',
    tools: (request.tools ?? []).map((t) => ({ strict: true, ...t })),
    top_logprobs: 0,
    top_p: request.top_p ?? 1,
    truncation: 'disabled',
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens + outputTokens,
    },
    user: null,
    metadata: request.metadata ?? {},
  };
}

/** The SSE events of a streamed response, in the order the real API sends them. */
function* streamEvents(response) {
  let sequence = 0;
  const event = (type, fields) => ({ type, sequence_number: sequence++, ...fields });
  const started = { ...response, status: 'in_progress', output: [], usage: null };
  yield event('response.created', { response: started });
  yield event('response.in_progress', { response: started });
  for (const [outputIndex, item] of response.output.entries()) {
    if (item.type === 'function_call') {
      yield event('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', arguments: '' } });
      for (const delta of item.arguments.match(/.{1,8}/gs) ?? []) {
        yield event('response.function_call_arguments.delta', { item_id: item.id, output_index: outputIndex, delta });
      }
      yield event('response.function_call_arguments.done', { item_id: item.id, output_index: outputIndex, name: item.name, arguments: item.arguments });
    } else {
      yield event('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', content: [] } });
      const text = item.content[0].text;
      const part = { type: 'output_text', annotations: [], logprobs: [], text: '' };
      yield event('response.content_part.added', { item_id: item.id, output_index: outputIndex, content_index: 0, part });
      for (const delta of text.match(/\S*\s*/g).filter(Boolean)) {
        yield event('response.output_text.delta', { item_id: item.id, output_index: outputIndex, content_index: 0, delta, logprobs: [] });
      }
      yield event('response.output_text.done', { item_id: item.id, output_index: outputIndex, content_index: 0, text, logprobs: [] });
      yield event('response.content_part.done', { item_id: item.id, output_index: outputIndex, content_index: 0, part: { ...part, text } });
    }
    yield event('response.output_item.done', { output_index: outputIndex, item });
  }
  yield event('response.completed', { response });
}

/** Starts the stand-in on 127.0.0.1 (`port` 0 picks a free one). Resolves to `{ url, requests, close }`. */
export function startModelStandIn({ port = 0 } = {}) {
  const store = new Map();
  const requests = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/__requests') return send(200, requests);
    if (req.method !== 'POST' || !/^\/(v1\/)?responses$/.test(req.url)) {
      return send(404, { error: { message: `Invalid URL (${req.method} ${req.url})`, type: 'invalid_request_error', param: null, code: null } });
    }
    requests.push({ headers: req.headers, body: raw });
    const key = (req.headers.authorization ?? '').match(/^Bearer (\S+)$/)?.[1];
    if (!key) {
      const e = apiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", null, null);
      return send(e.status, e.body);
    }
    // Like the real API, some keys are wrong: the gateway forwards a missing key as "undefined".
    if (key === 'undefined' || key === 'invalid') {
      const e = apiError(401, `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, null, 'invalid_api_key');
      return send(e.status, e.body);
    }
    let request;
    try {
      request = JSON.parse(raw);
    } catch {
      const e = apiError(400, 'We could not parse the JSON body of your request.', null, null);
      return send(e.status, e.body);
    }
    const invalid = validate(store, request);
    if (invalid) return send(invalid.status, invalid.body);
    const output = respond(conversation(store, request), request.tools ?? []);
    const response = responseObject(request, output, 'completed');
    if (request.store !== false) store.set(response.id, { request, response });
    if (!request.stream) return send(200, response);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const event of streamEvents(response)) {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    }
    res.end();
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}/v1`;
      resolve({ url, requests, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const standIn = await startModelStandIn({ port: Number(process.argv[2] ?? 0) });
  console.log(`model stand-in listening on ${standIn.url}`);
}
