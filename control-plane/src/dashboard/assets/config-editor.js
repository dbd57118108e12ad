// Remote configuration on the Device page: what the device is asked to run (merged from its group,
// tags and own fragment; passwords shown as ***), what it applied or reverted, and an editor for
// one layer. "Check" validates on the control plane (a dry run: bad keys come back by name) and
// shows the change as a diff; "Apply" stores exactly the checked text. A saved *** keeps the
// stored password.
import { ago, api, attempt, badge, canChange, fill, h, toast } from './lib.js';

/** Leaf values by dotted path: { samples: { a: 1 } } → { 'samples.a': 1 }. */
function flatten(value, prefix = '', out = {}) {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${key}` : key, out);
  } else if (prefix) {
    out[prefix] = JSON.stringify(value);
  }
  return out;
}

/** One row per changed setting: [path, before, after]; '–' where absent. */
export function settingsDiff(before, after) {
  const a = flatten(before);
  const b = flatten(after);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .sort()
    .filter((key) => a[key] !== b[key])
    .map((key) => [key, a[key] ?? '–', b[key] ?? '–']);
}

export function configCard(deviceId) {
  const root = h('div', { class: 'card', id: 'device-config' });
  const status = h('div', { id: 'device-config-status' });
  const editor = h('div', { id: 'device-config-editor' });
  let device = null;
  let editing = null; // { scope, key } of the layer in the editor

  async function refresh(d) {
    device = d;
    const view = await api('getDeviceConfig', { params: { id: deviceId } });
    const applied = view.applied;
    fill(
      status,
      h(
        'dl',
        { class: 'kv' },
        h('dt', {}, 'Desired'),
        h('dd', {}, view.desired.revision ?? 'local config only'),
        h('dt', {}, 'Applied'),
        h(
          'dd',
          {},
          applied
            ? [applied.revision ?? 'local config only', ' ', badge(applied.status), ` ${ago(applied.at)}`]
            : '–',
          view.inSync ? null : h('span', { class: 'muted' }, ' (not in sync)'),
        ),
        applied?.detail
          ? [h('dt', {}, 'Detail'), h('dd', { id: 'device-config-detail' }, applied.detail)]
          : null,
        h('dt', {}, 'Layers'),
        h(
          'dd',
          {},
          view.desired.layers.length === 0
            ? '–'
            : view.desired.layers.map((l) => `${l.scope} ${l.key}`).join(' < '),
        ),
      ),
      h(
        'pre',
        { class: 'config-json', id: 'device-config-effective' },
        JSON.stringify(view.desired.settings, null, 2),
      ),
    );
    if (!editing) showLayerPicker();
  }

  function layers() {
    return [
      { scope: 'device', key: deviceId },
      { scope: 'group', key: device.group },
      ...device.tags.map((tag) => ({ scope: 'tag', key: tag })),
    ];
  }

  function showLayerPicker() {
    if (!canChange()) return fill(editor);
    fill(
      editor,
      h('p', { class: 'muted' }, 'Edit the configuration of:'),
      h(
        'div',
        { class: 'chips' },
        layers().map((layer) =>
          h(
            'button',
            { type: 'button', id: `config-edit-${layer.scope}`, onclick: () => openEditor(layer) },
            `${layer.scope} ${layer.key}`,
          ),
        ),
      ),
    );
  }

  async function openEditor(layer) {
    let current = {};
    try {
      current = (await api('getConfigFragment', { params: layer })).settings;
    } catch (err) {
      if (err.status !== 404) throw err;
    }
    editing = layer;
    const text = h('textarea', { id: 'config-text', rows: 12, spellcheck: 'false' });
    text.value = JSON.stringify(current, null, 2);
    const result = h('div', { id: 'config-check' });
    let checked = null; // the text that passed the check
    const apply = h(
      'button',
      {
        type: 'button',
        id: 'config-apply',
        disabled: true,
        onclick: async () => {
          if (checked !== text.value) return;
          const done = await attempt(() =>
            api('putConfigFragment', { params: layer, body: { protocol: 1, settings: JSON.parse(checked) } }),
          );
          if (!done) return;
          toast(`configuration of ${layer.scope} ${layer.key} sent to ${done.devices.length} device(s)`);
          close();
        },
      },
      'Apply',
    );
    text.addEventListener('input', () => {
      apply.disabled = checked !== text.value;
    });
    const check = async () => {
      checked = null;
      apply.disabled = true;
      fill(result, h('p', { class: 'muted' }, 'Checking…'));
      let settings;
      try {
        settings = JSON.parse(text.value);
      } catch (err) {
        return fill(result, h('p', { class: 'error' }, `not JSON: ${err.message}`));
      }
      try {
        const answer = await api('putConfigFragment', {
          params: layer,
          query: { dryRun: 'true' },
          body: { protocol: 1, settings },
        });
        const rows = settingsDiff(current, settings);
        checked = text.value;
        apply.disabled = false;
        fill(
          result,
          h(
            'p',
            {},
            `Valid. Reaches ${answer.devices.length} device(s): ${answer.devices.join(', ') || '–'}`,
          ),
          rows.length === 0
            ? h('p', { class: 'muted' }, 'No changes.')
            : h(
                'table',
                { id: 'config-diff' },
                h('thead', {}, h('tr', {}, h('th', {}, 'Setting'), h('th', {}, 'Now'), h('th', {}, 'After'))),
                h(
                  'tbody',
                  {},
                  rows.map(([key, before, after]) =>
                    h(
                      'tr',
                      {},
                      h('td', {}, key),
                      h('td', { class: 'old' }, before),
                      h('td', { class: 'new' }, after),
                    ),
                  ),
                ),
              ),
        );
      } catch (err) {
        fill(result, h('p', { class: 'error', id: 'config-error' }, err.message));
      }
    };
    const remove = h(
      'button',
      {
        type: 'button',
        id: 'config-delete',
        onclick: async () => {
          if (await attempt(() => api('deleteConfigFragment', { params: layer }), 'configuration removed'))
            close();
        },
      },
      'Remove layer',
    );
    fill(
      editor,
      h('h3', {}, `${layer.scope} ${layer.key}`),
      h(
        'p',
        { class: 'muted' },
        'Sections: camera (replaced whole), frames, samples, predictions, updates. Passwords show as *** and are kept when saved back.',
      ),
      text,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', id: 'config-check-button', onclick: check }, 'Check'),
        apply,
        remove,
        h('button', { type: 'button', onclick: close }, 'Cancel'),
      ),
      result,
    );
  }

  function close() {
    editing = null;
    showLayerPicker();
  }

  fill(root, h('h2', {}, 'Configuration'), status, editor);
  return { el: root, refresh };
}
