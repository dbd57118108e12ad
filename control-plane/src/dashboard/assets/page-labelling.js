// Labelling: the queue, one frame at a time, keyboard first. 1–9 pick a class, Enter confirms
// the pre-label (the device's top-1), 0 says none of the classes fits, S skips for later.
import { api, apiUrl, attempt, canChange, fill, h, pct } from './lib.js';

export function labellingPage(root) {
  let queue = [];
  let classes = [];
  let total = 0;
  let done = 0;
  let busy = false;

  async function load() {
    const [q, c] = await Promise.all([api('getLabelQueue', { query: { limit: 50 } }), api('listClasses')]);
    queue = q.samples;
    total = q.total;
    classes = c.classes.map((x) => x.name ?? x);
    render();
  }

  function render() {
    const sample = queue[0];
    const header = h(
      'div',
      { class: 'toolbar' },
      h('h1', {}, 'Labelling'),
      h('span', { class: 'muted', id: 'queue-count' }, `${total} waiting · ${done} labelled here`),
    );
    if (!sample) {
      fill(root, header, h('div', { class: 'card', id: 'queue-empty' }, 'The queue is empty.'));
      return;
    }
    const scores = new Map(sample.topK.map((c) => [c.label, c.confidence]));
    const allowed = canChange();
    fill(
      root,
      header,
      h(
        'div',
        { class: 'label-layout' },
        h(
          'div',
          { class: 'card label-image' },
          h('img', {
            src: apiUrl('getSampleImage', { id: sample.sampleId }),
            alt: `sample ${sample.sampleId}`,
            id: 'label-image',
          }),
          h(
            'p',
            { class: 'muted' },
            `${sample.deviceId} · v${sample.modelVersion ?? '–'} · ${sample.reason} · ${sample.width}×${sample.height}`,
          ),
        ),
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Top-k'),
          h(
            'ol',
            { id: 'label-topk' },
            sample.topK.map((c) => h('li', {}, `${c.label} — ${pct(c.confidence)}`)),
          ),
          h('h2', {}, 'Label'),
          h(
            'div',
            { class: 'keys' },
            h(
              'button',
              {
                type: 'button',
                class: 'key pre',
                disabled: !allowed || !sample.preLabel,
                onclick: () => act({ action: 'confirm' }),
              },
              h('kbd', {}, '⏎'),
              `Confirm “${sample.preLabel ?? '–'}”`,
            ),
            // Every class is a button; the first nine also have a number key.
            classes.map((label, i) =>
              h(
                'button',
                {
                  type: 'button',
                  class: 'key',
                  disabled: !allowed,
                  dataset: { label },
                  onclick: () => pick(label),
                },
                h('kbd', {}, i < 9 ? String(i + 1) : ' '),
                h('span', {}, label),
                h('span', { class: 'bar' }, h('i', { style: `width:${(scores.get(label) ?? 0) * 100}%` })),
              ),
            ),
            h(
              'button',
              { type: 'button', class: 'key', disabled: !allowed, onclick: () => act({ action: 'none' }) },
              h('kbd', {}, '0'),
              'None of these',
            ),
            h(
              'button',
              { type: 'button', class: 'key', disabled: !allowed, onclick: () => act({ action: 'skip' }) },
              h('kbd', {}, 'S'),
              'Skip for now',
            ),
          ),
          allowed
            ? h(
                'form',
                {
                  class: 'toolbar',
                  id: 'new-class',
                  style: 'margin-top:10px',
                  onsubmit: (e) => {
                    e.preventDefault();
                    const label = e.target.elements.label.value.trim();
                    if (label) act({ action: 'correct', label, newClass: true });
                  },
                },
                h('input', {
                  name: 'label',
                  placeholder: 'a new class',
                  'aria-label': 'new class',
                }),
                h('button', { type: 'submit' }, 'Label as new class'),
              )
            : h('p', { class: 'muted' }, 'Viewers can look at the queue but not label.'),
        ),
      ),
    );
  }

  function pick(label) {
    const sample = queue[0];
    if (sample?.preLabel === label) return act({ action: 'confirm' });
    return act({ action: 'correct', label });
  }

  async function act(action) {
    const sample = queue[0];
    if (!sample || busy || !canChange()) return;
    busy = true;
    const ok = await attempt(() =>
      api('labelSample', { params: { id: sample.sampleId }, body: { protocol: 1, ...action } }),
    );
    busy = false;
    if (!ok) return;
    queue.shift();
    total = Math.max(0, total - 1);
    if (action.action !== 'skip') done += 1;
    if (queue.length === 0) await load();
    else render();
  }

  function onKey(e) {
    if (e.target instanceof HTMLInputElement || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === 'Enter') act({ action: 'confirm' });
    else if (e.key === 's' || e.key === 'S') act({ action: 'skip' });
    else if (e.key === '0') act({ action: 'none' });
    else if (/^[1-9]$/.test(e.key) && classes[Number(e.key) - 1]) pick(classes[Number(e.key) - 1]);
    else return;
    e.preventDefault();
  }
  window.addEventListener('keydown', onKey);

  load();
  return {
    topics: ['labels'],
    // New samples arrive while labelling: refetch only when the queue ran dry, so the frame being
    // looked at never changes under the labeller's fingers.
    refresh: () => {
      if (queue.length === 0 && !busy) load();
    },
    leave: () => window.removeEventListener('keydown', onKey),
  };
}
