// Rollouts: create one (version, target, waves, rate, soak, gates) and watch it live — each
// wave's progress, each device's execution state, gate values against their limits — with
// pause, resume, abort and roll back.
import { actionButton, ago, api, attempt, badge, fill, h, num } from './lib.js';
import { rolloutForm } from './rollout-form.js';

const DONE = new Set(['active', 'installed']);
const BAD = new Set(['failed', 'timed_out', 'rolling_back', 'rolled_back']);
const DEVICE_ROWS = 200;

export function rolloutsPage(root, [rolloutId]) {
  // The list page: the form is built once and only the list below it is redrawn on a refresh.
  let form = null;
  const list = h('div', { class: 'card table-wrap', id: 'rollouts-list' });
  async function load() {
    if (rolloutId) return renderOne(await api('getRollout', { params: { id: rolloutId } }));
    const [{ rollouts }, { models }, fleet] = await Promise.all([
      api('listRollouts'),
      api('listModels'),
      api('getFleet', { query: { pageSize: 1 } }),
    ]);
    const choices = { models, groups: fleet.groups, tags: fleet.tags };
    if (form) form.setChoices(choices);
    else {
      form = rolloutForm({ ...choices, onCreated: (r) => (location.hash = `#/rollouts/${r.rolloutId}`) });
      fill(root, h('h1', {}, 'Rollouts'), form.el, list);
    }
    fill(
      list,
      rollouts.length === 0
        ? h('p', { class: 'muted' }, 'No rollouts yet.')
        : h(
            'table',
            { id: 'rollouts-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Rollout', 'Version', 'Target', 'State', 'Wave', 'Created'].map((x) => h('th', {}, x)),
              ),
            ),
            h(
              'tbody',
              {},
              [...rollouts]
                .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
                .map((r) =>
                  h(
                    'tr',
                    {},
                    h(
                      'td',
                      {},
                      h('a', { href: `#/rollouts/${encodeURIComponent(r.rolloutId)}` }, r.rolloutId),
                    ),
                    h('td', {}, `v${r.modelVersion}`),
                    h('td', {}, targetText(r.target)),
                    h('td', {}, badge(r.state)),
                    h('td', {}, `${r.currentWave + 1} / ${r.waves.length}`),
                    h('td', {}, ago(r.createdAt)),
                  ),
                ),
            ),
          ),
    );
  }

  function renderOne(r) {
    const act = (verb) => async () => {
      const ok = await attempt(
        () =>
          api(`${verb}Rollout`, {
            params: { id: r.rolloutId },
            body: { protocol: 1, reason: `${verb} from the dashboard` },
          }),
        `${verb}: done`,
      );
      if (ok) load();
    };
    const live = r.state === 'running' || r.state === 'paused';
    fill(
      root,
      h('p', {}, h('a', { href: '#/rollouts' }, '← all rollouts')),
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, `Rollout of v${r.modelVersion} `, h('span', { id: 'rollout-state' }, badge(r.state))),
        actionButton('Pause', act('pause'), { disabled: r.state !== 'running', id: 'rollout-pause' }),
        actionButton('Resume', act('resume'), { disabled: r.state !== 'paused', id: 'rollout-resume' }),
        actionButton('Abort', act('abort'), { class: 'danger', disabled: !live, id: 'rollout-abort' }),
        actionButton('Roll back', act('rollback'), {
          class: 'danger',
          disabled: r.state === 'aborted',
          id: 'rollout-rollback',
        }),
      ),
      h(
        'p',
        { class: 'muted' },
        `${targetText(r.target)} · ${r.devices.length} devices · ${r.strategy.maxNotifiedPerMinute}/min · soak ${r.strategy.soakSeconds} s · created ${ago(r.createdAt)}`,
        r.reason ? h('span', {}, ` · ${r.reason}`) : null,
      ),
      h(
        'div',
        { class: 'chips', id: 'rollout-counts' },
        Object.entries(r.counts).map(([state, n]) => h('span', { class: 'chip' }, state, ' ', h('b', {}, n))),
      ),
      h(
        'div',
        { class: 'card', id: 'rollout-waves' },
        h('h2', {}, 'Waves'),
        r.waves.map((w) => waveRow(w, r)),
      ),
      h('div', { class: 'card table-wrap' }, h('h2', {}, 'Devices'), deviceTable(r.devices)),
    );
  }

  load();
  return { topics: ['rollouts', 'fleet'], refresh: load };
}

function waveRow(w, r) {
  const devices = r.devices.filter((d) => d.wave === w.index);
  const share = (set) =>
    devices.length ? (devices.filter((d) => set.has(d.state)).length / devices.length) * 100 : 0;
  const done = share(DONE);
  const bad = share(BAD);
  return h(
    'div',
    { class: 'wave-block', dataset: { wave: w.index } },
    h(
      'div',
      { class: 'wave' },
      h('b', {}, `Wave ${w.index + 1}`),
      h(
        'div',
        { class: 'progress', title: `${num(done, 0)}% updated, ${num(bad, 0)}% failed` },
        h('i', { class: 'progress-seg', style: `width:${done}%;background:var(--green)` }),
        h('i', { class: 'progress-seg', style: `width:${bad}%;background:var(--red)` }),
      ),
      h('span', {}, badge(w.state), ` ${devices.length} dev.`),
    ),
    w.soakUntil && w.state === 'soaking'
      ? h('p', { class: 'muted' }, `soaking until ${new Date(w.soakUntil).toLocaleTimeString()}`)
      : null,
    w.checks?.length
      ? h(
          'table',
          { class: 'gates' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Gate', 'Value', 'Limit', '', 'Detail'].map((x) => h('th', {}, x)),
            ),
          ),
          h(
            'tbody',
            {},
            w.checks.map((c) =>
              h(
                'tr',
                {},
                h('td', {}, c.name),
                h('td', { class: 'num' }, c.value === null ? '–' : num(c.value, 3)),
                h('td', { class: 'num' }, num(c.limit, 3)),
                h('td', {}, badge(c.passed ? 'ok' : 'failed')),
                h('td', { class: 'muted' }, c.detail),
              ),
            ),
          ),
        )
      : null,
  );
}

function deviceTable(devices) {
  const shown = devices.slice(0, DEVICE_ROWS);
  return [
    h(
      'table',
      { id: 'rollout-devices' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Device', 'Wave', 'State', 'From', 'Updated', 'Reason'].map((x) => h('th', {}, x)),
        ),
      ),
      h(
        'tbody',
        {},
        shown.map((d) =>
          h(
            'tr',
            { dataset: { device: d.deviceId } },
            h('td', {}, h('a', { href: `#/device/${encodeURIComponent(d.deviceId)}` }, d.deviceId)),
            h('td', {}, d.wave + 1),
            h('td', { class: 'state' }, badge(d.state)),
            h('td', {}, d.previousVersion === null ? '–' : `v${d.previousVersion}`),
            h('td', {}, ago(d.updatedAt)),
            h('td', { class: 'muted' }, d.reason ?? ''),
          ),
        ),
      ),
    ),
    devices.length > DEVICE_ROWS
      ? h('p', { class: 'muted' }, `${devices.length - DEVICE_ROWS} more devices not shown`)
      : null,
  ];
}

export function targetText(target) {
  if (target.all) return 'all devices';
  if (target.group) return `group ${target.group}`;
  return `${target.deviceIds.length} devices`;
}
