// What the extension keeps in chrome.storage.local: the settings (options page) and one record per run
// (`run:<id>`), which the side panel renders and the service worker resumes from. Storage outlives the worker:
// Chrome stops an idle worker at any moment, and everything the worker knows is here.

export const SETTINGS = 'settings';
const RUN = 'run:';

/** The defaults: hosted Portkey (its API key still to be given), no servers yet. */
export const DEFAULT_SETTINGS = {
  model: 'gpt-4.1',
  portkey: { apiKey: '', provider: 'openai' },
  servers: {},
  approve: 'destructive',
};

export async function loadSettings() {
  const { [SETTINGS]: settings } = await chrome.storage.local.get(SETTINGS);
  return { ...DEFAULT_SETTINGS, ...settings };
}

export const saveSettings = (settings) => chrome.storage.local.set({ [SETTINGS]: settings });

/** Every run, oldest first. */
export async function loadRuns() {
  const all = await chrome.storage.local.get(null);
  return Object.entries(all)
    .filter(([key]) => key.startsWith(RUN))
    .map(([, run]) => run)
    .sort((a, b) => a.startedAt - b.startedAt);
}

export const saveRun = (run) => chrome.storage.local.set({ [RUN + run.id]: run });

export const isRunKey = (key) => key.startsWith(RUN);

/** Tokens of the servers the person signed in to (`auth.storage`): secrets, kept where the extension keeps its
 * settings, under keys of their own. */
export const tokenStore = {
  get: async (key) => (await chrome.storage.local.get(key))[key],
  set: (key, value) => chrome.storage.local.set({ [key]: value }),
};
