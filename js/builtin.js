// Node's built-in modules, loaded through `require`, and only when first needed: an ESM import of `node:http` or
// `node:fs` builds a facade that reads every export, and some of them are getters that load more (undici, file
// streams: over 10 ms at start-up) which nothing here uses; TLS, compression and child processes cost several
// milliseconds each to load, and an agent on plain HTTP without stdio servers needs none of them.

import { createRequire } from 'node:module';

export const builtin = createRequire(import.meta.url);
