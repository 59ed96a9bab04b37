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
//   "three rounds of slow lookups"      → a *slow-lookup tool, N turns one after the other, each with three calls at
//   ("2 rounds", "rounds of 3", …)        once labelled r<k>a, r<k>b, r<k>c (k = 1..N; one…five or a number ≤ 20);
//                                         with "writes" in the text a *slow-write tool instead
//   "50 single lookups"                 → the same, N ≤ 100 turns of one call each (r<k>a)
//   "… tagged job-7"                     → the rounds' labels start with the tag: job-7-r1a, …
//   "… forever …"                       → a *wait-forever tool, once, labelled w1
//
// Each rule finds its tool by the end of the offered name, so a server prefix (`counting__slow-lookup`,
// `counting_slow-lookup`) does not matter.
//
// Reasoning, like a reasoning model: when the request sets `reasoning` (any object) or the user's text says
// "think", every response with function calls starts with one `reasoning` item (`rs_…`, `summary: []`); it carries
// `encrypted_content` only when `include` asks for "reasoning.encrypted_content". With "unknown item" in the text,
// a `web_search_call` item (a type a function-tool client does not handle) comes before the function calls.
// Like the real API it then checks replayed history: a reasoning item without `encrypted_content` must belong to a
// stored response ("Item with id 'rs_…' not found. …"), `encrypted_content` must be the one it issued for that id
// ("The encrypted content for item rs_… could not be verified. …"), and when the whole history is replayed
// (`store: false`, no `previous_response_id`) a function call whose response had a reasoning item needs that
// reasoning item before it ("Item 'fc_…' of type 'function_call' was provided without its required 'reasoning'
// item: 'rs_…'.") and every replayed function call needs its output. A `store: false` response is not stored.
//
// `startModelStandIn({ noStore: true })` is a provider without stored responses: it stores nothing and refuses
// every `previous_response_id` (400, code `unsupported_parameter`), so the client must replay the history.
//
// Like a real model in strict mode, it sends every property of a `strict: true` tool, `null` for the optional
// ones (strict schemas list every property as required and make the optional ones nullable); and like the real
// API it refuses a strict tool whose schema breaks the strict rules it checks.
//
// Independent calls go out together in one turn; when nothing is left to call it answers with every tool
// output it received. `GET /__requests` returns what it was sent (headers and bodies), for tests.
//
// Run alone: `node tests/support/model-standin.mjs [port] [--no-store]` prints `model stand-in listening on <url>`.

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

function validate(store, request, issued, noStore) {
  if (typeof request.model !== 'string' || !request.model) {
    return apiError(400, "Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  }
  if (typeof request.input !== 'string' && !Array.isArray(request.input)) {
    return apiError(400, "Invalid type for 'input': expected a string or an array.", 'input', 'invalid_type');
  }
  if (noStore && request.previous_response_id != null) {
    return apiError(400, 'previous_response_id is not supported by this provider', 'previous_response_id', 'unsupported_parameter');
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
  const replay = validateReplay(request, input, outputs, issued, noStore);
  if (replay) return replay;
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

/** Checks reasoning items and replayed function calls against what this stand-in issued (see the header). */
function validateReplay(request, input, outputs, issued, noStore) {
  const replayOnly = !request.previous_response_id && (request.store === false || noStore);
  const seen = new Set();
  for (const item of input) {
    if (item.type === 'reasoning') {
      const known = issued.reasoning.get(item.id);
      if (typeof item.encrypted_content !== 'string' || !item.encrypted_content) {
        if (!known?.stored) {
          const message = request.store === false
            ? `Item with id '${item.id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`
            : `Item with id '${item.id}' not found.`;
          return apiError(400, message, 'input');
        }
      } else if (known?.encrypted !== item.encrypted_content) {
        return apiError(400, `The encrypted content for item ${item.id} could not be verified. Reason: Encrypted content could not be decrypted or parsed.`, null, 'invalid_encrypted_content');
      }
      seen.add(item.id);
    }
    if (replayOnly && item.type === 'function_call' && item.id && issued.reasoningBefore.has(item.id)) {
      const reasoning = issued.reasoningBefore.get(item.id);
      if (!seen.has(reasoning)) {
        return apiError(400, `Item '${item.id}' of type 'function_call' was provided without its required 'reasoning' item: '${reasoning}'.`, 'input');
      }
    }
  }
  if (replayOnly) {
    const missing = input.find((i) => i.type === 'function_call' && !outputs.has(i.call_id));
    if (missing) return apiError(400, `No tool output found for function call ${missing.call_id}.`, 'input');
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

const COUNTS = { one: 1, two: 2, three: 3, four: 4, five: 5 };

/** How many rounds the text asks for ("three rounds", "3 rounds", "rounds of 3", "50 single lookups"), or 0. */
function roundsIn(text) {
  const single = text.match(/\b(\d+)\s+single\s+lookups\b/i);
  if (single) return Number(single[1]) <= 100 ? Number(single[1]) : 0;
  const match = text.match(/\b(one|two|three|four|five|\d+)\s+rounds?\b/i) ?? text.match(/\brounds?\s+of\s+(one|two|three|four|five|\d+)\b/i);
  if (!match) return 0;
  const n = COUNTS[match[1].toLowerCase()] ?? Number(match[1]);
  return n >= 1 && n <= 20 ? n : 0;
}

/** The calls the rules want, given the user's text and the calls so far (`[{ name, args, output }]`). */
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
  // Rounds: round k goes out once every call of the rounds before it was made (and, the API checks, answered).
  const rounds = roundsIn(text);
  const roundTool = rounds && findTool(tools, /\bwrites\b/i.test(text) ? /slow[-_]?write/i : /slow[-_]?lookup/i);
  if (roundTool) {
    const field = labelField(roundTool);
    const made = new Set(results.filter((r) => r.name === roundTool.name).map((r) => r.args?.[field]));
    const tag = text.match(/\btagged\s+([\w-]+)/i)?.[1]?.concat('-') ?? '';
    for (let k = 1; k <= rounds; k++) {
      const labels = (/\bsingle\b/i.test(text) ? ['a'] : ['a', 'b', 'c']).map((s) => `${tag}r${k}${s}`).filter((label) => !made.has(label));
      if (labels.length === 0) continue;
      for (const label of labels) wanted.push({ tool: roundTool.name, args: { [field]: label } });
      break;
    }
  }
  const foreverTool = /forever/i.test(text) && findTool(tools, /wait[-_]?forever/i);
  if (foreverTool) wanted.push({ tool: foreverTool.name, args: { [labelField(foreverTool)]: 'w1' } });
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

/** The tool's `label` property, else its first string property. */
function labelField(tool) {
  if ('label' in (tool.parameters?.properties ?? {})) return 'label';
  return props(tool, ['string'])[0] ?? 'label';
}

function parseArgs(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function outputText(output) {
  if (typeof output === 'string') return output;
  return (output ?? []).map((part) => (part.type === 'input_text' ? part.text : `[${part.type}]`)).join('\n');
}

/** Decides this turn's output items. */
function respond(items, request) {
  const tools = request.tools ?? [];
  const text = items.filter((i) => i.role === 'user').map((i) => textOf(i.content)).join('\n');
  const calls = items.filter((i) => i.type === 'function_call');
  const outputs = items.filter((i) => i.type === 'function_call_output');
  const done = new Set(calls.map((c) => `${c.name} ${c.arguments}`));
  const results = calls.map((c) => ({ name: c.name, args: parseArgs(c.arguments), output: outputs.find((o) => o.call_id === c.call_id)?.output }));
  const next = plan(text, tools, results).filter((w) => !done.has(`${w.tool} ${JSON.stringify(w.args)}`));
  if (next.length > 0) {
    const before = [];
    if ((request.reasoning && typeof request.reasoning === 'object') || /\bthink/i.test(text)) {
      const reasoning = { id: id('rs'), type: 'reasoning', summary: [] };
      if ((request.include ?? []).includes('reasoning.encrypted_content')) {
        reasoning.encrypted_content = `gAAAAA${randomBytes(96).toString('base64')}`;
      }
      before.push(reasoning);
    }
    if (/unknown item/i.test(text)) {
      before.push({ id: id('ws'), type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'x' } });
    }
    return before.concat(next.map((w) => ({
      id: id('fc'),
      type: 'function_call',
      status: 'completed',
      arguments: JSON.stringify(w.args),
      call_id: id('call'),
      name: w.tool,
    })));
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
    } else if (item.type === 'reasoning') {
      // The added copy's encrypted_content "may be incomplete": here it is left out, only the done copy has it.
      const { encrypted_content: _, ...partial } = item;
      yield event('response.output_item.added', { output_index: outputIndex, item: partial });
    } else if (item.type === 'web_search_call') {
      yield event('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress' } });
      for (const phase of ['in_progress', 'searching', 'completed']) {
        yield event(`response.web_search_call.${phase}`, { output_index: outputIndex, item_id: item.id });
      }
    } else if (item.type !== 'message') {
      yield event('response.output_item.added', { output_index: outputIndex, item });
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

/**
 * Starts the stand-in on 127.0.0.1 (`port` 0 picks a free one). Resolves to `{ url, requests, close }`. With
 * `noStore`, it acts as a provider without stored responses (see the header); with `delayMs`, every answer
 * comes that long after its request (a slow model).
 */
export function startModelStandIn({ port = 0, noStore = false, delayMs = 0 } = {}) {
  const store = new Map();
  // What it gave out, stored or not: reasoning ids (their encrypted content, whether stored) and, for each
  // function call item id, the reasoning item that came before it.
  const issued = { reasoning: new Map(), reasoningBefore: new Map() };
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
    requests.push({ headers: req.headers, body: raw, at: Date.now() });
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
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
    const invalid = validate(store, request, issued, noStore);
    if (invalid) return send(invalid.status, invalid.body);
    const output = respond(conversation(store, request), request);
    const response = responseObject(request, output, 'completed');
    const stored = request.store !== false && !noStore;
    if (stored) store.set(response.id, { request, response });
    let reasoning = null;
    for (const item of output) {
      if (item.type === 'reasoning') {
        reasoning = item.id;
        issued.reasoning.set(item.id, { encrypted: item.encrypted_content ?? null, stored });
      }
      if (item.type === 'function_call' && reasoning) issued.reasoningBefore.set(item.id, reasoning);
    }
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
  const standIn = await startModelStandIn({ port: Number(process.argv[2] ?? 0), noStore: process.argv.includes('--no-store') });
  console.log(`model stand-in listening on ${standIn.url}`);
}
