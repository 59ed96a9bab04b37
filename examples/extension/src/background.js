// The service worker: runs the agent. Chrome stops it whenever it likes (after ~30 s without extension events,
// or to save memory), so a run keeps the worker awake while it is in flight, stores its snapshot after every
// step, and a worker that starts again resumes every run left unfinished. Approvals wait in storage: deciding
// one in the side panel wakes the worker, which resumes the run from its snapshot.
import { createAgent, init } from 'mcp-loop';
import { loadRuns, loadSettings, saveRun, SETTINGS, tokenStore } from './store.js';

// The package's wasm, copied next to this file by build.mjs.
const WASM = new URL('mcp_loop_bg.wasm', import.meta.url);
const KEEPALIVE_MS = 20_000;
const ALARM = 'resume-unfinished';

let agent = null;
/** Runs this worker is driving: resumed or started at most once per worker. */
const driving = new Map();
let keepalive = null;

async function currentAgent() {
  if (!agent) {
    await init({ wasm: WASM });
    const { model, portkey, servers, approve } = await loadSettings();
    agent = createAgent({ model, portkey, servers: withSignIn(servers), approve });
  }
  return agent;
}

/** A server whose settings have `auth` signs the person in through Chrome's own window (launchWebAuthFlow, which
 * ends at this extension's chromiumapp.org redirect), and keeps its tokens in the extension's storage. */
function withSignIn(servers) {
  const signedIn = {};
  for (const [name, server] of Object.entries(servers)) {
    if (!server?.auth || server.auth.grant) {
      signedIn[name] = server;
      continue;
    }
    const auth = {
      redirectUri: chrome.identity.getRedirectURL('callback'),
      authorize: (url) => chrome.identity.launchWebAuthFlow({ url, interactive: true }),
      storage: tokenStore,
      ...server.auth,
    };
    signedIn[name] = { ...server, auth };
  }
  return signedIn;
}

/** New settings: the next run gets an agent built from them; the old one closes once its runs are over. */
chrome.storage.onChanged.addListener((changes) => {
  if (changes[SETTINGS] && agent) {
    const old = agent;
    agent = null;
    Promise.allSettled(driving.values()).then(() => old.close());
  }
});

/** An extension API call now and then keeps Chrome from stopping the worker mid-run; the alarm wakes a worker
 * Chrome stopped anyway. Both end once nothing is in flight. */
function awake(on) {
  if (on && !keepalive) {
    keepalive = setInterval(() => chrome.runtime.getPlatformInfo(), KEEPALIVE_MS);
    chrome.alarms.create(ALARM, { periodInMinutes: 0.5 });
  } else if (!on && keepalive) {
    clearInterval(keepalive);
    keepalive = null;
    chrome.alarms.clear(ALARM);
  }
}

/** Drives one run to its end or pause: `begin(agent, options)` is `run` or `resume`. */
async function drive(record, begin) {
  if (driving.has(record.id)) return driving.get(record.id);
  const work = (async () => {
    awake(true);
    record.status = 'running';
    await saveRun(record);
    try {
      const result = await begin(await currentAgent(), {
        // A snapshot taken after a resume holds its decisions: they need not be given again.
        onSnapshot: (snapshot) => saveRun(Object.assign(record, { snapshot, decisions: [] })),
        onEvent: (event) => {
          if (!event.type.startsWith('toolCall')) return;
          const call = record.calls.find((c) => c.callId === event.callId);
          const state = event.type === 'toolCallStarted' ? 'running' : event.isError ? 'failed' : 'done';
          if (call) call.state = state;
          else record.calls.push({ callId: event.callId, server: event.server, tool: event.tool, state });
          saveRun(record);
        },
      });
      Object.assign(record, { status: result.status, answer: result.outputText, pending: result.pending ?? [], snapshot: result.snapshot ?? null });
    } catch (error) {
      Object.assign(record, { status: 'failed', error: `${error.code ?? 'error'}: ${error.message}` });
    }
    await saveRun(record);
  })();
  driving.set(record.id, work);
  try {
    await work;
  } finally {
    driving.delete(record.id);
    if (!driving.size) awake(false);
  }
}

/** Every run a stopped worker left running continues from its latest snapshot (or starts again, if it had
 * none: no step of it was recorded). A recorded call result is never asked for again; a call that was in
 * flight runs again only if its tool is read-only or idempotent (the agent's `inflight` default). */
async function resumeUnfinished() {
  for (const record of await loadRuns()) {
    if (record.status !== 'running' || driving.has(record.id)) continue;
    drive(record, (agent, options) =>
      record.snapshot ? agent.resume(record.snapshot, record.decisions ?? [], options) : agent.run(record.question, options),
    );
  }
}

// Listeners are registered synchronously, so the event that woke the worker reaches them.
chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.type === 'ask') {
    const record = { id: crypto.randomUUID(), question: message.text, startedAt: Date.now(), status: 'running', calls: [], snapshot: null };
    drive(record, (agent, options) => agent.run(record.question, options));
    reply({ id: record.id });
  } else if (message?.type === 'decide') {
    // The paused run is read from storage: the worker that paused it may be long gone.
    loadRuns().then((runs) => {
      const record = runs.find((r) => r.id === message.id && r.status === 'awaiting_approval');
      if (!record) return;
      // Kept with the run until the next snapshot holds them, in case the worker stops before that.
      record.decisions = message.decisions;
      drive(record, (agent, options) => agent.resume(record.snapshot, record.decisions, options));
    });
    reply({});
  } else if (message?.type === 'hello') {
    resumeUnfinished();
    reply({});
  }
});
chrome.alarms.onAlarm.addListener(() => resumeUnfinished());
chrome.runtime.onInstalled.addListener(() => chrome.sidePanel.setPanelBehavior({ openPanelOnActionClick: true }));

resumeUnfinished();
