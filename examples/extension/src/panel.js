// The side panel: renders the runs from storage (so it shows the same whether or not the worker is running),
// sends questions and approval decisions to the service worker.
import { isRunKey, loadRuns } from './store.js';

const runs = document.getElementById('runs');

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function approvals(run) {
  const box = element('div', 'approvals');
  for (const call of run.pending ?? []) {
    const row = element('div', 'approval');
    row.dataset.callId = call.callId;
    row.append(element('span', 'call', `${call.server} · ${call.tool} ${JSON.stringify(call.arguments)} `));
    const decided = chosen.get(run.id)?.[call.callId];
    if (decided !== undefined) row.append(element('span', 'call', decided ? 'approved' : 'rejected'));
    else for (const [label, approved] of [['Approve', true], ['Reject', false]]) {
      const button = element('button', label.toLowerCase(), label);
      button.onclick = () => decide(run, call.callId, approved);
      row.append(button);
    }
    box.append(row);
  }
  return box;
}

/** Decisions are sent once every pending call of the run has one. */
const chosen = new Map();
function decide(run, callId, approved) {
  const decisions = { ...chosen.get(run.id), [callId]: approved };
  chosen.set(run.id, decisions);
  render();
// Opening the panel wakes the worker, which resumes any run a stopped worker left unfinished.
chrome.runtime.sendMessage({ type: 'hello' });
  if (run.pending.every((c) => c.callId in decisions)) {
    chosen.delete(run.id);
    chrome.runtime.sendMessage({ type: 'decide', id: run.id, decisions });
  }
}

async function render() {
  const nodes = (await loadRuns()).map((run) => {
    const node = element('div', 'run');
    node.dataset.id = run.id;
    node.dataset.status = run.status;
    node.append(element('div', 'question', run.question));
    for (const call of run.calls) node.append(element('div', 'call', `${call.server} · ${call.tool}: ${call.state}`));
    if (run.status === 'awaiting_approval') node.append(approvals(run));
    if (run.answer) node.append(element('div', 'answer', run.answer));
    if (run.error) node.append(element('div', 'error', run.error));
    return node;
  });
  runs.replaceChildren(...nodes);
}

chrome.storage.onChanged.addListener((changes) => {
  if (Object.keys(changes).some(isRunKey)) render();
// Opening the panel wakes the worker, which resumes any run a stopped worker left unfinished.
chrome.runtime.sendMessage({ type: 'hello' });
});
document.getElementById('ask').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('question');
  if (input.value.trim()) chrome.runtime.sendMessage({ type: 'ask', text: input.value.trim() });
  input.value = '';
});
render();
// Opening the panel wakes the worker, which resumes any run a stopped worker left unfinished.
chrome.runtime.sendMessage({ type: 'hello' });
