// A token store in one JSON file, readable by its owner only, so that a sign-in lasts from one process to the
// next (Node; the CLI's store). Written whole to a temporary file and renamed, so a crash never leaves half a file.
import { builtin } from './builtin.js';

const { dirname, join } = builtin('node:path');
const fs = () => builtin('node:fs/promises');

/** `--tokens`, else `MCP_LOOP_TOKENS`, else `$XDG_CONFIG_HOME/mcp-loop/tokens.json` (`~/.config` by default). */
export function tokensPath(flag, env = process.env) {
  return flag ?? env.MCP_LOOP_TOKENS ?? join(env.XDG_CONFIG_HOME || join(builtin('node:os').homedir(), '.config'), 'mcp-loop', 'tokens.json');
}

/** A store for `auth.storage` kept in `file` (default: `tokensPath()`). */
export function fileTokenStore(file = tokensPath()) {
  const load = () => fs().readFile(file, 'utf8').then(JSON.parse, () => ({}));
  return {
    get: async (key) => (await load())[key],
    async set(key, value) {
      const all = await load();
      all[key] = value;
      const { mkdir, writeFile, rename } = fs();
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, file);
    },
  };
}
