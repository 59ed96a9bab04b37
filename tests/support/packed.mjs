// The package as its users get it: `npm pack` of the repository, installed into a copy of an app outside the
// repository (a temporary directory), offline, from npm's cache for anything else the app needs.
import { execFile } from 'node:child_process';
import { cp, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { root } from './procs.mjs';

const run = promisify(execFile);

/** A clean clone of the repository's committed state, at `dir`/clone. */
export async function cleanClone(dir) {
  const clone = join(dir, 'clone');
  await run('git', ['clone', '--quiet', root, clone]);
  return clone;
}

/**
 * `npm pack` of a clean clone, as a release is made: its prepack builds pkg/ (the npm packages of this checkout
 * stand in for `npm ci`, its cargo target directory for a cold build). Resolves to `{ tarball, files }`.
 */
export async function packCleanClone(dir) {
  const clone = await cleanClone(dir);
  await symlink(join(root, 'node_modules'), join(clone, 'node_modules'));
  const env = { ...process.env, CARGO_TARGET_DIR: resolve(root, process.env.CARGO_TARGET_DIR ?? 'target') };
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: clone, env, maxBuffer: 1 << 24 });
  const [pack] = JSON.parse(stdout);
  return { tarball: join(dir, pack.filename), files: pack.files };
}

/**
 * Copies the app at `source` to `where` and installs into it `tarball` (default: the repository packed into `dir`
 * as it is, without building) with `extra` packages (npm specs). A `package.json` is written if the app has none.
 * Resolves to `where`.
 */
export async function installPacked({ source, dir, where, extra = [], tarball }) {
  if (!tarball) {
    const { stdout } = await run('npm', ['pack', root, '--pack-destination', dir, '--ignore-scripts', '--silent', '--json']);
    tarball = join(dir, JSON.parse(stdout)[0].filename);
  }
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
