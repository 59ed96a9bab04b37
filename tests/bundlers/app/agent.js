// The app's one use of mcp-loop, shared by the page and the worker: ask the agent one question, with the MCP
// server and the model (the stand-in, reached through the page's own origin: /portkey/v1, which the test server
// proxies to the Portkey gateway) named in the page's query string. `createAgent` comes from whoever imported the
// package (a worker with no bundler cannot import it by its name: import maps do not reach workers).

/** Runs `q` against the MCP server at `mcp` and the model stand-in at `model`; resolves to the run's result. */
export async function ask(createAgent, { q, mcp, model }) {
  const agent = createAgent({
    model: 'gpt-standin',
    portkey: { baseURL: new URL('/portkey/v1', location.href).href, provider: 'openai', customHost: model, authorization: 'Bearer standin' },
    servers: { everything: { url: mcp } },
  });
  try {
    return await agent.run(q); // plain data: a worker posts it to the page as it is
  } finally {
    await agent.close();
  }
}

/** What a page or a worker reports: the result, or the error's message and code. */
export const outcome = (promise) =>
  promise.then(
    (result) => ({ ok: true, result }),
    (error) => ({ ok: false, error: { message: String(error?.message ?? error), code: error?.code } }),
  );

/** The page's question, from its query string: `q`, `mcp`, `model`. */
export const question = () => Object.fromEntries(new URLSearchParams(location.search));
