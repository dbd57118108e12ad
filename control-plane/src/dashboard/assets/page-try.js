// Try a model: upload an image, pick any registered version, see its top-k with confidence.
import { api, attempt, bars, canChange, fill, h } from './lib.js';

export function tryPage(root) {
  const result = h('div', { id: 'try-result' });
  const preview = h('img', {
    alt: '',
    id: 'try-preview',
    style: 'max-width:240px;display:none;border-radius:6px',
  });
  const file = h('input', {
    type: 'file',
    name: 'image',
    accept: 'image/*',
    required: true,
    onchange: () => {
      const f = file.files?.[0];
      if (!f) return;
      preview.src = URL.createObjectURL(f);
      preview.style.display = 'block';
    },
  });
  const version = h('select', { name: 'modelVersion', 'aria-label': 'model version' });
  const submit = h('button', { type: 'submit', class: 'primary', disabled: !canChange() }, 'Classify');
  const form = h(
    'form',
    { class: 'card', id: 'try-form', onsubmit },
    h('div', { class: 'toolbar' }, version, file, submit),
    canChange()
      ? null
      : h('p', { class: 'muted' }, 'Trying a model runs it on the server: operators and admins only.'),
    h('div', { class: 'grid' }, preview, result),
  );
  root.append(h('h1', {}, 'Try a model'), form);

  async function onsubmit(e) {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f) return;
    const body = new FormData();
    body.set('image', f);
    body.set('modelVersion', version.value);
    body.set('topK', '5');
    submit.disabled = true;
    fill(result, h('p', { class: 'muted' }, 'Classifying…'));
    const out = await attempt(() => api('tryModel', { body }));
    submit.disabled = !canChange();
    if (!out) {
      fill(result);
      return;
    }
    fill(
      result,
      h('h2', {}, `v${out.modelVersion} · ${out.elapsedMs} ms`),
      bars(out.topK.map((c) => ({ label: c.label, value: c.confidence }))),
    );
  }

  async function load() {
    const [{ models }, { aliases }] = await Promise.all([api('listModels'), api('listAliases')]);
    const names = (v) =>
      aliases
        .filter((a) => a.modelVersion === v)
        .map((a) => a.alias)
        .join(', ');
    const chosen = version.value;
    fill(
      version,
      ...[...models]
        .sort((a, b) => b.modelVersion - a.modelVersion)
        .map((m) =>
          h(
            'option',
            { value: m.modelVersion, selected: chosen === String(m.modelVersion) },
            `v${m.modelVersion} ${m.name}${names(m.modelVersion) ? ` (${names(m.modelVersion)})` : ''}`,
          ),
        ),
    );
  }

  load();
  return { topics: ['models'], refresh: load };
}
