// The header's alerts: how many are open, and the list (firing alerts and recent one-shot
// notifications) in a panel under the button. Refreshed when the event stream says 'alerts'
// changed, and once a minute in case the stream is down.
import { ago, api, fill, h } from './lib.js';

const POLL_MS = 60_000;

export function alertsMenu() {
  const count = h('span', { class: 'alerts-count', id: 'alerts-count' }, '0');
  const panel = h('div', { class: 'alerts-panel card', id: 'alerts-panel', hidden: true });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'alerts-button',
      id: 'alerts-button',
      title: 'open alerts',
      'aria-expanded': 'false',
      onclick: () => {
        panel.hidden = !panel.hidden;
        button.setAttribute('aria-expanded', String(!panel.hidden));
      },
    },
    'Alerts ',
    count,
  );
  const root = h('div', { class: 'alerts-menu' }, button, panel);
  let timer = null;

  function render({ open, alerts }) {
    count.textContent = String(open);
    root.classList.toggle('firing', open > 0);
    fill(
      panel,
      alerts.length === 0
        ? h('p', { class: 'muted' }, 'No open alerts.')
        : h(
            'ul',
            { class: 'alerts-list' },
            alerts.map((a) =>
              h(
                'li',
                { class: `alert ${a.severity} ${a.status}`, dataset: { rule: a.rule } },
                h('span', { class: 'alert-severity' }, a.oneShot ? 'note' : a.severity),
                ' ',
                a.subject.kind === 'device'
                  ? h('a', { href: `#/device/${encodeURIComponent(a.subject.id)}` }, a.summary)
                  : h('span', {}, a.summary),
                h('span', { class: 'muted' }, ` · ${ago(a.firedAt)}`),
              ),
            ),
          ),
    );
  }

  async function load() {
    try {
      render(await api('listAlerts', { query: { status: 'open', limit: 50 } }));
    } catch {
      // Signed out or unreachable: the shell handles both; the header keeps its last figures.
    }
  }

  return {
    el: root,
    start() {
      load();
      clearInterval(timer);
      timer = setInterval(load, POLL_MS);
    },
    stop() {
      clearInterval(timer);
      timer = null;
    },
    refresh: load,
  };
}
