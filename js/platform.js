// What differs between hosts, set by the entry point before anything runs: how to start a server process
// (Node has child processes; browsers do not). `spawn(op, { stdout, stderr, exit })` returns
// `{ write(line), close(), signal(name) }`: close ends stdin, signal sends SIGTERM or SIGKILL.
// `signIn(redirectUri, server)` is the default `auth.authorize` for a redirect URI (Node: a loopback listener),
// or null. `transport(request, signal, tls)` sends the core's HTTP requests where the platform has its own client
// (Node's `node:http`, js/nodehttp.js); without it, `fetch`.
export const platform = { spawn: null, signIn: null, transport: null };
