// Training runs: the pipeline's history; one run's steps with status, attempts, durations, logs,
// and loss/accuracy curves from the registered model's metrics.json history when it has one.
import { actionButton, ago, api, attempt, badge, duration, fill, h, lineChart } from './lib.js';

export function runsPage(root, [runId]) {
  async function load() {
    if (runId) return renderRun(await api('getPipelineRun', { params: { id: runId } }));
    const { runs } = await api('listPipelineRuns');
    fill(
      root,
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, 'Training runs'),
        actionButton(
          'Start a run',
          async () => {
            const run = await attempt(() => api('triggerPipeline', { body: { protocol: 1 } }), 'run queued');
            if (run) load();
          },
          { class: 'primary', id: 'start-run' },
        ),
      ),
      h(
        'div',
        { class: 'card table-wrap' },
        runs.length === 0
          ? h('p', { class: 'muted' }, 'No runs yet.')
          : h(
              'table',
              { id: 'runs-table' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Run', 'Status', 'Trigger', 'By', 'Created', 'Duration', 'Steps'].map((x) =>
                    h('th', {}, x),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                runs.map((r) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, r.id)),
                    h('td', {}, badge(r.status)),
                    h('td', {}, r.trigger),
                    h('td', {}, r.requestedBy),
                    h('td', {}, ago(r.createdAt)),
                    h('td', {}, duration(runDuration(r))),
                    h(
                      'td',
                      {},
                      r.steps.map((s) =>
                        h('span', { class: `badge ${s.status}`, title: s.status }, s.name, ' '),
                      ),
                    ),
                  ),
                ),
              ),
            ),
      ),
    );
  }

  async function renderRun(run) {
    const registered = run.steps.map((s) => s.artifacts?.modelVersion).find((v) => typeof v === 'number');
    let history = null;
    if (registered) {
      const { models } = await api('listModels');
      history = models.find((m) => m.modelVersion === registered)?.metrics?.history ?? null;
    }
    const active = run.status === 'running' || run.status === 'queued';
    const seen = logViews(root);
    fill(
      root,
      h('p', {}, h('a', { href: '#/runs' }, '← all runs')),
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, `Run ${run.id} `, badge(run.status)),
        active
          ? actionButton(
              'Cancel',
              async () => {
                if (await attempt(() => api('cancelPipelineRun', { params: { id: run.id } }), 'cancelling'))
                  load();
              },
              { class: 'danger' },
            )
          : null,
      ),
      h(
        'p',
        { class: 'muted' },
        `${run.trigger} by ${run.requestedBy}, ${ago(run.createdAt)} · ${duration(runDuration(run))}`,
        run.error ? h('span', { class: 'error' }, ` · ${run.error}`) : null,
      ),
      history?.length
        ? h(
            'div',
            { class: 'grid', id: 'run-curves' },
            h(
              'div',
              { class: 'card' },
              h('h2', {}, `Loss (model v${registered})`),
              lineChart([
                { name: 'train loss', color: '#2f7de1', values: history.map((e) => e.loss) },
                { name: 'validation loss', color: '#e07b2f', values: history.map((e) => e.valLoss) },
              ]),
            ),
            h(
              'div',
              { class: 'card' },
              h('h2', {}, 'Accuracy'),
              lineChart(
                [
                  { name: 'train accuracy', color: '#2f7de1', values: history.map((e) => e.accuracy) },
                  {
                    name: 'validation accuracy',
                    color: '#e07b2f',
                    values: history.map((e) => e.valAccuracy),
                  },
                ],
                { min: 0, max: 1 },
              ),
            ),
          )
        : null,
      h(
        'div',
        { class: 'steps', id: 'run-steps' },
        run.steps.map((s) =>
          h(
            'div',
            { class: 'card' },
            h(
              'h2',
              {},
              `${s.name} `,
              badge(s.status),
              h(
                'span',
                { class: 'muted' },
                ` · ${duration(s.durationMs)} · ${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`,
              ),
            ),
            s.error ? h('p', { class: 'error' }, s.error) : null,
            s.log
              ? h(
                  'details',
                  {
                    open: seen.get(s.name)?.open ?? (s.status === 'running' || s.status === 'failed'),
                    dataset: { step: s.name },
                  },
                  h('summary', {}, 'log'),
                  h('pre', { class: 'log' }, s.log),
                )
              : null,
          ),
        ),
      ),
    );
    restoreLogViews(root, seen);
  }

  load();
  return { topics: ['pipeline'], refresh: load };
}

function runDuration(r) {
  if (!r.startedAt) return null;
  return Date.parse(r.finishedAt ?? new Date().toISOString()) - Date.parse(r.startedAt);
}

/**
 * Where the person left each step's log: open or closed, and scrolled where. A running step's log
 * grows, and each growth redraws the page (a few seconds apart); without this every redraw closed
 * the logs they had opened and scrolled each back to its first line.
 */
function logViews(root) {
  const views = new Map();
  for (const d of root.querySelectorAll('details[data-step]')) {
    const pre = d.querySelector('pre');
    const atEnd = !pre || pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    views.set(d.dataset.step, { open: d.open, scrollTop: pre?.scrollTop ?? 0, atEnd });
  }
  return views;
}

/** Puts each log back where it was; one that was at its end (or is new) follows its newest lines. */
function restoreLogViews(root, views) {
  for (const d of root.querySelectorAll('details[data-step]')) {
    const pre = d.querySelector('pre');
    const view = views.get(d.dataset.step);
    if (pre) pre.scrollTop = !view || view.atEnd ? pre.scrollHeight : view.scrollTop;
  }
}
