// The dashboard shell: sign-in, hash routing (#/page/arg), and live updates — one EventSource on
// the API's event stream tells the open page which topics changed so it refetches only then.
import { alertsMenu } from './alerts-menu.js';
import { api, apiUrl, fill, h, session } from './lib.js';
import { devicePage } from './page-device.js';
import { fleetPage } from './page-fleet.js';
import { labellingPage } from './page-labelling.js';
import { modelsPage } from './page-models.js';
import { rolloutsPage } from './page-rollouts.js';
import { runsPage } from './page-runs.js';
import { tryPage } from './page-try.js';

const PAGES = {
  fleet: fleetPage,
  device: devicePage,
  rollouts: rolloutsPage,
  models: modelsPage,
  labelling: labellingPage,
  runs: runsPage,
  try: tryPage,
};

const view = document.getElementById('view');
const signInForm = document.getElementById('sign-in');
let current = null;
let events = null;
const alerts = alertsMenu();
document.getElementById('who').prepend(alerts.el);

function route() {
  const [name, ...args] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { name: PAGES[name] ? name : 'fleet', args };
}

async function show() {
  current?.leave?.();
  const { name, args } = route();
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle(
      'active',
      a.dataset.page === name || (name === 'device' && a.dataset.page === 'fleet'),
    );
  }
  const root = h('div', { class: `page page-${name}` });
  fill(view, root);
  current = PAGES[name](root, args) ?? {};
  document.title = `edgeloop · ${name}`;
}

function listen() {
  events?.close();
  events = new EventSource(apiUrl('getEventStream'));
  const live = document.getElementById('live');
  events.addEventListener('ready', () => live.classList.add('on'));
  events.addEventListener('error', () => live.classList.remove('on'));
  events.addEventListener('change', (e) => {
    const { topics } = JSON.parse(e.data);
    if (topics.includes('alerts')) alerts.refresh();
    if (current?.topics?.some((t) => topics.includes(t))) refreshSoon(topics);
  });
}

// A busy fleet changes every second; refetch at most every REFRESH_MS, with every topic seen.
const REFRESH_MS = 2000;
let pending = null;
let lastRefresh = 0;
function refreshSoon(topics) {
  if (pending) {
    for (const t of topics) pending.topics.add(t);
    return;
  }
  const page = current;
  pending = { topics: new Set(topics) };
  setTimeout(
    () => {
      const seen = [...pending.topics];
      pending = null;
      lastRefresh = Date.now();
      if (page === current) page.refresh?.(seen);
    },
    Math.max(0, lastRefresh + REFRESH_MS - Date.now()),
  );
}

async function start() {
  try {
    Object.assign(session, await api('getSession'));
  } catch {
    signInForm.hidden = false;
    fill(view);
    document.getElementById('nav').hidden = true;
    document.getElementById('who').hidden = true;
    alerts.stop();
    return;
  }
  signInForm.hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('who-name').textContent = session.name;
  document.getElementById('who-role').textContent = session.role;
  document.body.dataset.role = session.role;
  // The Rollouts page needs the rollout API; older control planes do not have it.
  fetch(apiUrl('listRollouts'), { method: 'GET' }).then((r) => {
    document.getElementById('nav-rollouts').hidden = r.status === 404;
  });
  alerts.start();
  listen();
  await show();
}

signInForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(signInForm);
  const error = document.getElementById('sign-in-error');
  try {
    await api('/ui/sign-in', { body: { name: form.get('name'), password: form.get('password') } });
    error.textContent = '';
    signInForm.reset();
    await start();
  } catch (err) {
    error.textContent = err.message;
  }
});

document.getElementById('sign-out').addEventListener('click', async () => {
  await api('/ui/sign-out', { method: 'POST' });
  events?.close();
  current?.leave?.();
  current = null;
  await start();
});

window.addEventListener('edgeloop:signed-out', () => {
  if (signInForm.hidden) start();
});
window.addEventListener('hashchange', () => {
  if (signInForm.hidden) show();
});
start();
