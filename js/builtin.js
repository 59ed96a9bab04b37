// Node's built-in modules, loaded through `require`: an ESM import of `node:http` builds a facade that reads every
// export, and some of them are getters that load undici (over 10 ms at start-up) which nothing here uses.

import { createRequire } from 'node:module';

export const builtin = createRequire(import.meta.url);
