// The package as its users get it: `npm pack` of the repository, installed into a copy of an app outside the
// repository (a temporary directory), offline, from npm's cache for anything else the app needs.
import { execFile } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root } from './procs.mjs';

const run = promisify(execFile);

/**
 * Copies the app at `source` to `where`, packs the repository into `dir` and installs the tarball there with
 * `extra` packages (npm specs). A `package.json` is written if the app has none. Resolves to `where`.
 */
export async function installPacked({ source, dir, where, extra = [] }) {
  const { stdout } = await run('npm', ['pack', root, '--pack-destination', dir, '--ignore-scripts', '--silent', '--json']);
  const tarball = join(dir, JSON.parse(stdout)[0].filename);
  await cp(source, where, { recursive: true, filter: (path) => !/[/\\](node_modules|dist)$/.test(path) });
  await writeFile(join(where, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }), { flag: 'wx' }).catch(
    (error) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
  const quiet = ['--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'];
  await run('npm', ['install', tarball, ...extra, ...quiet], { cwd: where });
  return where;
}
