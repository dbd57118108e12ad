// Fleet: every device, one server-side page at a time (search, filter, sort on the server so
// 10,000 devices cost one page of rows in the browser), counts by status and version.
import { ago, api, fill, h, num, pct, sparkline } from './lib.js';

const state = {
  q: '',
  status: 'all',
  group: '',
  tags: '',
  version: '',
  sort: 'deviceId',
  dir: 'asc',
  page: 0,
  pageSize: 50,
};

const COLUMNS = [
  ['deviceId', 'Device'],
  ['group', 'Group'],
  [null, 'Tags'], // not sortable: filter by a tag instead
  ['version', 'Model'],
  [null, 'Agent'], // the agent software version; self-updates change it
  ['lastSeenAt', 'Last seen'],
];

export function fleetPage(root) {
  // The filters live in the address (#/fleet/status=online&q=…): a reload or a shared link keeps
  // them. Read raw: the router's per-segment decoding would turn an encoded '&' into a separator.
  const saved = location.hash.split('/')[2];
  if (saved) {
    for (const [key, value] of new URLSearchParams(saved)) {
      if (key in state) state[key] = typeof state[key] === 'number' ? Number(value) || 0 : value;
    }
  }
  const counts = h('div', { class: 'chips', id: 'fleet-counts' });
  const table = h('tbody');
  const pager = h('div', { class: 'pager' });
  const groupSelect = h('select', { 'aria-label': 'group', onchange: (e) => set({ group: e.target.value }) });
  const search = h('input', {
    type: 'search',
    placeholder: 'Search id, name, group, tag',
    value: state.q,
    'aria-label': 'search',
    oninput: debounce((e) => set({ q: e.target.value }), 200),
  });
  const tagSelect = h('select', { 'aria-label': 'tag', onchange: (e) => set({ tags: e.target.value }) });
  const statusSelect = h(
    'select',
    { 'aria-label': 'status', onchange: (e) => set({ status: e.target.value }) },
    ['all', 'online', 'offline'].map((s) => h('option', { value: s, selected: state.status === s }, s)),
  );
  const head = h(
    'tr',
    {},
    h('th', {}, ''),
    COLUMNS.map(([key, label]) =>
      key === null
        ? h('th', {}, label)
        : h(
            'th',
            { class: 'sortable', dataset: { sort: key } },
            h('a', { href: '#/fleet', onclick: sortBy(key) }, label),
          ),
    ),
    h('th', { class: 'num hide-narrow' }, 'FPS'),
    h('th', { class: 'num hide-narrow' }, 'Latency'),
    h('th', { class: 'num' }, 'Low conf.'),
    h('th', { class: 'hide-narrow' }, 'Confidence trend'),
  );
  root.append(
    h('h1', {}, 'Fleet'),
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'toolbar' }, search, statusSelect, groupSelect, tagSelect),
      counts,
      h('div', { class: 'table-wrap' }, h('table', { id: 'fleet-table' }, h('thead', {}, head), table)),
      pager,
    ),
  );

  function sortBy(key) {
    return (e) => {
      e.preventDefault();
      set(state.sort === key ? { dir: state.dir === 'asc' ? 'desc' : 'asc' } : { sort: key, dir: 'asc' });
    };
  }

  function set(change) {
    Object.assign(state, 'page' in change ? {} : { page: 0 }, change);
    load();
  }

  let seq = 0;
  async function load() {
    const mine = ++seq;
    const query = new URLSearchParams(Object.entries(state).map(([k, v]) => [k, String(v)]));
    history.replaceState(null, '', `#/fleet/${query}`);
    const data = await api('getFleet', { query: state });
    if (mine !== seq) return; // a newer request superseded this one
    render(data);
  }

  function chip(label, value, active, change) {
    return h(
      'span',
      { class: `chip${active ? ' on' : ''}`, onclick: () => set(change) },
      label,
      ' ',
      h('b', {}, value),
    );
  }

  function info(label, value, id) {
    return h('span', { class: 'chip info', id }, label, ' ', h('b', {}, value));
  }

  function render(data) {
    fill(
      counts,
      chip('all', data.matching, state.status === 'all' && state.version === '', {
        status: 'all',
        version: '',
      }),
      Object.entries(data.counts.byStatus).map(([s, n]) => chip(s, n, state.status === s, { status: s })),
      Object.entries(data.counts.byVersion)
        .sort()
        .map(([v, n]) =>
          chip(v === 'none' ? 'no model' : `v${v}`, n, state.version === v, {
            version: state.version === v ? '' : v,
          }),
        ),
      // Devices on their way to the version their pin, rollout or group/tag target says.
      info('converging', data.counts.bySync.converging ?? 0, 'fleet-converging'),
      info('pinned', data.counts.pinned, 'fleet-pinned'),
    );
    fill(
      groupSelect,
      h('option', { value: '' }, 'all groups'),
      data.groups.map((g) => h('option', { value: g, selected: state.group === g }, g)),
    );
    fill(
      tagSelect,
      h('option', { value: '' }, 'all tags'),
      data.tags.map((t) => h('option', { value: t, selected: state.tags === t }, t)),
    );
    fill(
      table,
      ...data.devices.map((d) =>
        h(
          'tr',
          { dataset: { device: d.deviceId } },
          h(
            'td',
            {},
            h('span', { class: `dot${d.online ? ' online' : ''}`, title: d.online ? 'online' : 'offline' }),
          ),
          h(
            'td',
            {},
            h('a', { href: `#/device/${encodeURIComponent(d.deviceId)}` }, d.deviceId),
            d.name ? h('div', { class: 'muted' }, d.name) : null,
          ),
          h('td', {}, d.group),
          h(
            'td',
            { class: 'tags' },
            d.tags.map((t) => h('span', { class: 'tag', onclick: () => set({ tags: t }) }, t)),
          ),
          h(
            'td',
            { class: 'version' },
            d.reportedVersion === null ? '–' : `v${d.reportedVersion}`,
            d.converging
              ? h('span', { class: 'muted converging', title: 'converging' }, ` → v${d.desiredVersion}`)
              : null,
            d.pin
              ? h(
                  'span',
                  {
                    class: 'tag pin',
                    title: `pinned by ${d.pin.pinnedBy}${d.pin.reason ? `: ${d.pin.reason}` : ''}`,
                  },
                  `pinned v${d.pin.modelVersion}`,
                )
              : null,
          ),
          h('td', { class: 'agent-version' }, d.agentVersion ?? '–'),
          h('td', { title: d.lastSeenAt ?? '' }, ago(d.lastSeenAt)),
          h('td', { class: 'num hide-narrow' }, num(d.fps)),
          h('td', { class: 'num hide-narrow' }, d.latencyMs === null ? '–' : `${num(d.latencyMs)} ms`),
          h('td', { class: 'num' }, pct(d.lowConfidenceRate)),
          h('td', { class: 'hide-narrow' }, sparkline(d.trend)),
        ),
      ),
    );
    const first = data.page * data.pageSize;
    const last = Math.min(first + data.devices.length, data.matching);
    fill(
      pager,
      h(
        'span',
        { class: 'muted', id: 'fleet-range' },
        `${data.matching ? first + 1 : 0}–${last} of ${data.matching}`,
      ),
      h(
        'button',
        { type: 'button', disabled: data.page === 0, onclick: () => set({ page: state.page - 1 }) },
        'Previous',
      ),
      h(
        'button',
        { type: 'button', disabled: last >= data.matching, onclick: () => set({ page: state.page + 1 }) },
        'Next',
      ),
    );
  }

  load();
  return { topics: ['fleet'], refresh: load };
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
