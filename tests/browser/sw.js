// A module service worker, as an MV3 extension's background is: it imports the browser entry (a service worker
// refuses a module that awaits at its top level), connects to an MCP server when asked, and posts back what the
// package did.
import { connectMcp, toFunctionTools } from '/pkg/browser.js';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
  const reply = (message) => event.source.postMessage(message);
  event.waitUntil(
    (async () => {
      try {
        const mcp = await connectMcp({ url: event.data.mcp }); // loads the wasm core on first use
        const tools = await mcp.listTools();
        await mcp.close();
        reply({ ok: true, tools: toFunctionTools(tools, { server: 'everything' }).tools.length });
      } catch (error) {
        reply({ ok: false, code: error?.code, error: String(error?.message ?? error) });
      }
    })(),
  );
});
