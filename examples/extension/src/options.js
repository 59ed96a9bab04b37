// The options page: the model endpoint and the MCP servers, kept in chrome.storage.local. The servers'
// addresses and headers stay with the service worker: the agent never sends them to the model.
import { loadSettings, saveSettings } from './store.js';

const form = document.getElementById('settings');
const status = document.getElementById('status');

const settings = await loadSettings();
form.model.value = settings.model;
form.portkey.value = JSON.stringify(settings.portkey, null, 2);
form.servers.value = JSON.stringify(settings.servers, null, 2);
form.approve.value = settings.approve;

function json(field) {
  try {
    const value = JSON.parse(form[field].value || '{}');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {}
  status.textContent = `${field}: not a JSON object`;
  return null;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const [portkey, servers] = [json('portkey'), json('servers')];
  if (!portkey || !servers) return;
  await saveSettings({ model: form.model.value.trim(), portkey, servers, approve: form.approve.value });
  status.textContent = 'Saved';
});
