// Recollects tests/fixtures/corpus/: the tools/list answers of real MCP servers, kept verbatim so the
// schema converter is tested against what servers in the wild actually send, not what we imagine.
//
// Not run by CI (it needs the npm registry and PyPI, and takes minutes); it documents where each fixture
// came from. Usage:
//
//   node tests/support/collect-corpus.mjs            # every server below
//   node tests/support/collect-corpus.mjs time git   # only these (by fixture name)
//
// CORPUS_WORKDIR=/some/dir keeps the installs there (and reuses them on the next run) instead of in a fresh
// temporary directory that is removed at the end.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const outDir = fileURLToPath(new URL('../fixtures/corpus/', import.meta.url));
const COLLECTED = '2026-11-25';
const PROTOCOL_VERSION = '2025-11-25';
const TIMEOUT_MS = 60_000;

// `bin` is the executable the package installs; `{dir}` in args is replaced by a scratch directory of the
// server's own. Keys are dummies: these servers only check that a key is set before listing tools.
const SERVERS = [
  // The reference servers (zod in TypeScript, pydantic in Python).
  { name: 'filesystem', registry: 'npm', package: '@modelcontextprotocol/server-filesystem', version: '2026.8.31', bin: 'mcp-server-filesystem', args: ['{dir}'] },
  { name: 'memory', registry: 'npm', package: '@modelcontextprotocol/server-memory', version: '2026.8.31', bin: 'mcp-server-memory', env: { MEMORY_FILE_PATH: '{dir}/memory.jsonl' } },
  { name: 'everything', registry: 'npm', package: '@modelcontextprotocol/server-everything', version: '2026.8.31', bin: 'mcp-server-everything', args: ['stdio'] },
  { name: 'sequential-thinking', registry: 'npm', package: '@modelcontextprotocol/server-sequential-thinking', version: '2026.8.31', bin: 'mcp-server-sequential-thinking' },
  { name: 'github-archived', registry: 'npm', package: '@modelcontextprotocol/server-github', version: '2025.4.8', bin: 'mcp-server-github', env: { GITHUB_PERSONAL_ACCESS_TOKEN: 'dummy' } },
  { name: 'git', registry: 'pypi', package: 'mcp-server-git', version: '2026.10.19', bin: 'mcp-server-git' },
  { name: 'fetch', registry: 'pypi', package: 'mcp-server-fetch', version: '2026.10.24', bin: 'mcp-server-fetch' },
  { name: 'time', registry: 'pypi', package: 'mcp-server-time', version: '2026.10.19', bin: 'mcp-server-time', args: ['--local-timezone', 'UTC'] },
  // Its last release predates mcp 2.x, which removed the decorators it uses; `with` pins alongside it.
  { name: 'sqlite', registry: 'pypi', package: 'mcp-server-sqlite', version: '2025.4.25', with: ['mcp==1.30.0'], bin: 'mcp-server-sqlite', args: ['--db-path', '{dir}/test.db'] },

  // Third-party npm servers.
  { name: 'playwright', registry: 'npm', package: '@playwright/mcp', version: '0.0.83', bin: 'playwright-mcp', args: ['--headless'] },
  { name: 'chrome-devtools', registry: 'npm', package: 'chrome-devtools-mcp', version: '1.11.0', bin: 'chrome-devtools-mcp', args: ['--headless'] },
  { name: 'context7', registry: 'npm', package: '@upstash/context7-mcp', version: '4.1.1', bin: 'context7-mcp' },
  { name: 'firecrawl', registry: 'npm', package: 'firecrawl-mcp', version: '3.26.0', bin: 'firecrawl-mcp', env: { FIRECRAWL_API_KEY: 'fc-dummy' } },
  { name: 'notion', registry: 'npm', package: '@notionhq/notion-mcp-server', version: '2.5.2', bin: 'notion-mcp-server', env: { NOTION_TOKEN: 'ntn_dummy' } },
  // Every feature but `docs`, whose tool description is fetched from Supabase when tools are listed.
  { name: 'supabase', registry: 'npm', package: '@supabase/mcp-server-supabase', version: '0.13.0', bin: 'mcp-server-supabase', args: ['--access-token', 'sbp_dummy', '--features', 'account,database,debugging,development,functions,branching,storage'] },
  { name: 'tavily', registry: 'npm', package: 'tavily-mcp', version: '0.2.22', bin: 'tavily-mcp', env: { TAVILY_API_KEY: 'tvly-dummy' } },
  { name: 'brave-search', registry: 'npm', package: '@brave/brave-search-mcp-server', version: '2.1.4', bin: 'brave-search-mcp-server', env: { BRAVE_API_KEY: 'dummy' } },
  { name: 'exa', registry: 'npm', package: 'exa-mcp-server', version: '3.4.1', bin: 'exa-mcp-server', env: { EXA_API_KEY: 'dummy' } },
  { name: 'sentry', registry: 'npm', package: '@sentry/mcp-server', version: '0.39.0', bin: 'sentry-mcp', args: ['--access-token', 'dummy'] },
  { name: 'kubernetes', registry: 'npm', package: 'mcp-server-kubernetes', version: '4.1.7', bin: 'mcp-server-kubernetes' },

  // Third-party PyPI servers (FastMCP and friends: $defs, anyOf-with-null, titles, defaults).
  { name: 'duckdb', registry: 'pypi', package: 'mcp-server-duckdb', version: '1.1.0', with: ['mcp==1.30.0'], bin: 'mcp-server-duckdb', args: ['--db-path', '{dir}/test.duckdb'] },
  { name: 'aws-documentation', registry: 'pypi', package: 'awslabs.aws-documentation-mcp-server', version: '1.2.3', bin: 'awslabs.aws-documentation-mcp-server' },
  { name: 'arxiv', registry: 'pypi', package: 'arxiv-mcp-server', version: '0.8.2', bin: 'arxiv-mcp-server', args: ['--storage-path', '{dir}/papers'] },
  { name: 'obsidian', registry: 'pypi', package: 'mcp-obsidian', version: '0.2.3', bin: 'mcp-obsidian', env: { OBSIDIAN_API_KEY: 'dummy' } },
  { name: 'atlassian', registry: 'pypi', package: 'mcp-atlassian', version: '0.23.1', bin: 'mcp-atlassian', env: { JIRA_URL: 'https://example.atlassian.net', JIRA_USERNAME: 'a@example.com', JIRA_API_TOKEN: 'dummy', CONFLUENCE_URL: 'https://example.atlassian.net/wiki', CONFLUENCE_USERNAME: 'a@example.com', CONFLUENCE_API_TOKEN: 'dummy' } },
  { name: 'motherduck', registry: 'pypi', package: 'mcp-server-motherduck', version: '1.1.0', bin: 'mcp-server-motherduck', args: ['--db-path', ':memory:', '--read-write'] },
  // `tools` gives one tool per operation rather than a single REPL tool; HOME keeps its config out of ours.
  { name: 'serena', registry: 'pypi', package: 'serena-agent', version: '2.1.0', bin: 'serena', args: ['start-mcp-server', '--agent-interface', 'tools', '--project', '{dir}', '--transport', 'stdio', '--enable-web-dashboard', 'false', '--open-web-dashboard', 'false'], env: { HOME: '{dir}' } },
];

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000, ...opts });
}

/** Installs the pinned package into its own directory and returns the path of its executable. */
function install(server, dir) {
  if (server.registry === 'npm') {
    const bin = path.join(dir, 'node_modules', '.bin', server.bin);
    if (!fs.existsSync(bin)) {
      run('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', `${server.package}@${server.version}`]);
    }
    return bin;
  }
  const venv = path.join(dir, 'venv');
  const bin = path.join(venv, 'bin', server.bin);
  if (!fs.existsSync(bin)) {
    run('python3', ['-m', 'venv', venv]);
    run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `${server.package}==${server.version}`, ...(server.with ?? [])]);
  }
  return bin;
}

/** The version that actually got installed, so a fixture never claims a version it was not made from. */
function installedVersion(server, dir) {
  if (server.registry === 'npm') {
    const manifest = path.join(dir, 'node_modules', ...server.package.split('/'), 'package.json');
    return JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
  }
  const out = execFileSync(path.join(dir, 'venv', 'bin', 'pip'), ['show', server.package], { encoding: 'utf8' });
  return /^Version: (.+)$/m.exec(out)[1].trim();
}

/**
 * Starts the server over stdio and returns the merged tools/list result. The server gets its own process
 * group so that whatever it spawns dies with it.
 */
async function listTools(server, bin, dir) {
  const subst = (s) => s.replaceAll('{dir}', dir);
  // A fixed hash seed: some Python servers build defaults from sets, whose order otherwise changes per run.
  const env = { ...process.env, PYTHONHASHSEED: '0' };
  for (const [k, v] of Object.entries(server.env ?? {})) env[k] = subst(v);
  const child = spawn(bin, (server.args ?? []).map(subst), { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });

  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  // A server that dies early would otherwise leave us waiting until the timeout.
  let exitReason = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exitReason = `exited (code ${code}, signal ${signal})`))));
  child.stdin.on('error', () => {});

  const pending = new Map();
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue; // some servers log to stdout; that is their bug, not a reason to give up
      }
      if (msg.id !== undefined && msg.method) {
        // A request from the server (ping, roots/list, ...): answer so it does not stall.
        const reply = msg.method === 'ping' ? { result: {} } : { error: { code: -32601, message: 'Method not found' } };
        send({ jsonrpc: '2.0', id: msg.id, ...reply });
      } else if (msg.id !== undefined && pending.has(msg.id)) {
        pending.get(msg.id)(msg);
        pending.delete(msg.id);
      }
    }
  });

  function send(msg) {
    child.stdin.write(JSON.stringify(msg) + '\n');
  }
  let nextId = 1;
  async function request(method, params) {
    const id = nextId++;
    const answer = new Promise((resolve) => pending.set(id, resolve));
    send({ jsonrpc: '2.0', id, method, params });
    const msg = await Promise.race([answer, exited.then((why) => ({ error: { message: why } }))]);
    if (msg.error) throw new Error(`${method}: ${JSON.stringify(msg.error)}`);
    return msg.result;
  }

  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
  });
  const talk = async () => {
    const init = await request('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'mcp-loop-corpus-collector', version: '0.1.0' },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    let result = null;
    let cursor;
    do {
      const page = await request('tools/list', cursor === undefined ? {} : { cursor });
      if (result === null) result = { ...page, tools: [] };
      result.tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    delete result.nextCursor;
    return { result, protocolVersion: init.protocolVersion };
  };
  try {
    return await Promise.race([talk(), timeout]);
  } catch (err) {
    err.message += stderr ? `\n  stderr: ${stderr.trim().split('\n').slice(-5).join('\n  stderr: ')}` : '';
    throw err;
  } finally {
    clearTimeout(timer);
    if (exitReason === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      const kill = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }, 3000);
      await exited;
      clearTimeout(kill);
    }
  }
}

async function main() {
  const only = process.argv.slice(2);
  const selected = only.length ? SERVERS.filter((s) => only.includes(s.name)) : SERVERS;
  const keep = process.env.CORPUS_WORKDIR;
  const work = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-corpus-'));
  fs.mkdirSync(outDir, { recursive: true });

  const report = [];
  for (const server of selected) {
    const dir = path.join(work, server.name);
    fs.mkdirSync(dir, { recursive: true });
    try {
      const bin = install(server, dir);
      const version = installedVersion(server, dir);
      const { result, protocolVersion } = await listTools(server, bin, dir);
      if (!Array.isArray(result.tools) || result.tools.length === 0) throw new Error('listed no tools');
      const fixture = {
        _source: { package: server.package, version, transport: 'stdio', collected: COLLECTED },
        ...result,
      };
      fs.writeFileSync(path.join(outDir, `${server.name}.json`), JSON.stringify(fixture, null, 2) + '\n');
      report.push(`ok    ${server.name}: ${server.package}@${version}, ${result.tools.length} tools (protocol ${protocolVersion})`);
    } catch (err) {
      const why = err.stderr ? `install failed: ${String(err.stderr).trim().split('\n').slice(-3).join(' | ')}` : err.message;
      report.push(`FAIL  ${server.name}: ${server.package}@${server.version}: ${why}`);
    }
    console.log(report.at(-1));
  }
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
  console.log(`\n${report.filter((r) => r.startsWith('ok')).length} collected, ${report.filter((r) => r.startsWith('FAIL')).length} failed`);
}

await main();
