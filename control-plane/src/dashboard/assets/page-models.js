// Models: the registry with each version's figures and aliases; compare two versions (per-class
// recall bars and both confusion matrices); promote a version under the configured rule.
import { actionButton, ago, api, attempt, bars, fill, h, pct } from './lib.js';

const accuracyOf = (m) => m?.fixedSet?.accuracy ?? m?.valAccuracy ?? m?.accuracy ?? null;

export function modelsPage(root) {
  const list = h('div', { class: 'card' });
  const compare = h('div', { class: 'card', id: 'compare' });
  root.append(h('h1', {}, 'Models'), list, compare);
  let pair = null;

  async function load() {
    const [{ models }, { aliases }] = await Promise.all([api('listModels'), api('listAliases')]);
    const aliasesOf = (v) => aliases.filter((a) => a.modelVersion === v).map((a) => a.alias);
    const sorted = [...models].sort((a, b) => b.modelVersion - a.modelVersion);
    fill(
      list,
      h('h2', {}, `Registry (${models.length} versions)`),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'models-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Version', 'Name', 'Accuracy', 'Classes', 'Aliases', 'Published', ''].map((x) =>
                h('th', {}, x),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            sorted.map((m) =>
              h(
                'tr',
                { dataset: { version: m.modelVersion } },
                h('td', {}, `v${m.modelVersion}`),
                h('td', {}, m.name),
                h('td', { class: 'num' }, pct(accuracyOf(m.metrics))),
                h('td', { class: 'num' }, m.labels.length),
                h(
                  'td',
                  {},
                  aliasesOf(m.modelVersion).map((a) => h('span', { class: 'badge' }, a)),
                ),
                h('td', {}, ago(m.publishedAt)),
                h(
                  'td',
                  {},
                  actionButton('Promote', () => promote(m.modelVersion), { class: 'promote' }),
                ),
              ),
            ),
          ),
        ),
      ),
    );
    if (!pair && sorted.length >= 2) pair = [sorted[1].modelVersion, sorted[0].modelVersion];
    renderCompare(sorted);
  }

  async function promote(version) {
    const decision = await attempt(() =>
      api('promoteModel', { params: { ref: version }, body: { protocol: 1 } }),
    );
    if (decision) {
      alertDecision(decision);
      load();
    }
  }

  // Each comparison is fetched; only the newest asked for may draw. A refresh (a new version
  // registered) and the person's own picks each start one, and an older answer arriving last drew
  // a comparison of versions no longer selected.
  let comparing = 0;
  async function renderCompare(models) {
    const asked = ++comparing;
    const select = (i) =>
      h(
        'select',
        {
          'aria-label': i === 0 ? 'version A' : 'version B',
          onchange: (e) => {
            pair[i] = Number(e.target.value);
            renderCompare(models);
          },
        },
        models.map((m) =>
          h(
            'option',
            { value: m.modelVersion, selected: pair?.[i] === m.modelVersion },
            `v${m.modelVersion}`,
          ),
        ),
      );
    if (!pair) {
      fill(
        compare,
        h('h2', {}, 'Compare'),
        h('p', { class: 'muted' }, 'Two versions are needed to compare.'),
      );
      return;
    }
    const head = [h('h2', {}, 'Compare'), h('div', { class: 'toolbar' }, 'A', select(0), 'B', select(1))];
    let c;
    try {
      c = await api('compareModels', { query: { a: pair[0], b: pair[1] } });
    } catch (err) {
      if (asked === comparing) fill(compare, ...head, h('p', { class: 'error' }, err.message));
      return;
    }
    if (asked !== comparing) return;
    fill(
      compare,
      ...head,
      h(
        'p',
        {},
        `Accuracy: A ${pct(c.accuracy.a)} · B ${pct(c.accuracy.b)} · `,
        h('b', {}, `${c.accuracy.delta >= 0 ? '+' : ''}${(c.accuracy.delta * 100).toFixed(1)} points`),
      ),
      h(
        'div',
        { class: 'legend muted' },
        h('span', {}, h('i', { class: 'swatch', style: 'background:var(--a)' }), `A (v${c.a}) recall`),
        h('span', {}, h('i', { class: 'swatch', style: 'background:var(--b)' }), `B (v${c.b}) recall`),
      ),
      h(
        'div',
        { id: 'per-class' },
        bars(
          c.perClass.flatMap((row) => [
            { label: row.label, value: row.a?.recall ?? 0, cls: 'a' },
            { label: '', value: row.b?.recall ?? 0, cls: 'b' },
          ]),
        ),
      ),
      h(
        'div',
        { class: 'grid' },
        matrix(`Confusion A (v${c.a})`, c.confusion.a),
        matrix(`Confusion B (v${c.b})`, c.confusion.b),
      ),
    );
  }

  load();
  return { topics: ['models'], refresh: load };
}

function alertDecision(decision) {
  const text = `${decision.promoted ? 'Promoted' : 'Not promoted'}: ${decision.reason}`;
  const el = h('div', { class: `toast${decision.promoted ? '' : ' bad'}`, id: 'promotion-result' }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 6000);
}

function matrix(title, { labels, matrix: rows }) {
  const max = Math.max(1, ...rows.flat());
  return h(
    'div',
    { class: 'table-wrap' },
    h('h2', {}, title),
    h(
      'table',
      { class: 'matrix' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'true \\ predicted'),
          labels.map((l) => h('th', { title: l }, l.slice(0, 6))),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((row, i) =>
          h(
            'tr',
            {},
            h('th', {}, labels[i]),
            row.map((n, j) =>
              h(
                'td',
                {
                  style: `background:${i === j ? 'rgba(31,157,85,' : 'rgba(214,69,69,'}${n === 0 ? 0 : 0.15 + (0.75 * n) / max})`,
                },
                n,
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
