// Browser entry: the API, with the wasm core fetched from next to this package on first use or by `init()`.
// Nothing waits at the top level, so a module service worker can import it. (No stdio: a page cannot start
// processes.)
export * from './core.js';
