// Builds the extension into dist/ (load it with chrome://extensions → "Load unpacked"): the service worker,
// side panel and options page bundled by esbuild (no top-level await: a service worker refuses it), the
// package's wasm copied next to them, the manifest and pages as they are.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, 'dist');
await mkdir(out, { recursive: true });
await build({
  entryPoints: ['background', 'panel', 'options'].map((name) => join(here, 'src', `${name}.js`)),
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'chrome120',
  minify: true,
  logLevel: 'warning',
});
const wasm = createRequire(import.meta.url).resolve('mcp-loop/mcp_loop_bg.wasm');
await Promise.all([
  copyFile(wasm, join(out, 'mcp_loop_bg.wasm')),
  ...['manifest.json', 'panel.html', 'options.html'].map((file) => copyFile(join(here, file), join(out, file))),
]);
console.log(`extension built in ${out}`);
