// The "new rollout" form: version, target, waves ("1, 10%, 50%, 100%": a number is a device
// count, a percentage a cumulative share), notification rate, soak time and health gates.
import { api, attempt, canChange, fill, h } from './lib.js';

export function parseWaves(text) {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      if (part.endsWith('%')) return { percent: Number(part.slice(0, -1)) };
      return { devices: Number(part) };
    });
}

function field(label, input) {
  return h('label', { class: 'field' }, h('span', { class: 'muted' }, label), input);
}

/**
 * Refills a select's options, keeping what the operator chose when it is still offered; the same
 * options leave it untouched (an open drop-down would close under the person choosing).
 */
function setOptions(select, options) {
  const next = options.flat().filter(Boolean);
  const current = [...select.options];
  const same =
    next.length === current.length &&
    next.every((o, i) => o.value === current[i].value && o.textContent === current[i].textContent);
  if (same) return;
  const chosen = select.value;
  fill(select, options);
  if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

/**
 * Built once per page and given fresh choices on every refresh: the Rollouts page refreshes on
 * every fleet change (each heartbeat, every couple of seconds on a live fleet), and rebuilding the
 * form there wiped what the operator was typing, so "Start rollout" sent the defaults.
 */
export function rolloutForm({ models, groups, tags = [], onCreated }) {
  const version = h('select', { name: 'modelVersion', 'aria-label': 'rollout version' });
  const targetKind = h('select', { name: 'targetKind', 'aria-label': 'target' });
  function setChoices(choices) {
    setOptions(
      version,
      [...choices.models]
        .sort((a, b) => b.modelVersion - a.modelVersion)
        .map((m) => h('option', { value: m.modelVersion }, `v${m.modelVersion} ${m.name}`)),
    );
    setOptions(targetKind, [
      h('option', { value: 'all' }, 'all devices'),
      choices.groups.map((g) => h('option', { value: `group:${g}` }, `group ${g}`)),
      // A tag target takes devices having every listed tag; the fleet's tags are offered singly.
      (choices.tags ?? []).map((t) => h('option', { value: `tags:${t}` }, `tag ${t}`)),
      h('option', { value: 'tagged' }, 'devices with all these tags…'),
      h('option', { value: 'devices' }, 'these devices…'),
    ]);
  }
  setChoices({ models, groups, tags });
  const tagList = h('input', { name: 'tags', placeholder: 'outdoor, site-a', 'aria-label': 'tags' });
  const list = (raw) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const deviceIds = h('input', {
    name: 'deviceIds',
    placeholder: 'cam-01, cam-02',
    'aria-label': 'device ids',
  });
  const waves = h('input', { name: 'waves', value: '1, 50%, 100%', 'aria-label': 'waves' });
  const rate = h('input', {
    name: 'rate',
    type: 'number',
    min: 1,
    value: 100,
    'aria-label': 'devices per minute',
  });
  const soak = h('input', {
    name: 'soak',
    type: 'number',
    min: 0,
    step: 'any',
    value: 300,
    'aria-label': 'soak seconds',
  });
  const minSuccess = h('input', { name: 'minSuccess', type: 'number', min: 0, max: 100, value: 100 });
  const confDrop = h('input', { name: 'confDrop', type: 'number', min: 0, max: 1, step: 0.01, value: 0.1 });
  const lowRise = h('input', { name: 'lowRise', type: 'number', min: 0, max: 1, step: 0.01, value: 0.15 });
  const minPredictions = h('input', { name: 'minPredictions', type: 'number', min: 1, value: 20 });
  const onFailure = h(
    'select',
    { name: 'onFailure' },
    h('option', { value: 'abort' }, 'abort and roll back'),
    h('option', { value: 'pause' }, 'pause for a person'),
  );
  const submit = h(
    'button',
    { type: 'submit', class: 'primary', disabled: !canChange(), id: 'rollout-create' },
    'Start rollout',
  );

  async function onsubmit(e) {
    e.preventDefault();
    const kind = targetKind.value;
    const target =
      kind === 'all'
        ? { all: true }
        : kind === 'devices'
          ? { deviceIds: list(deviceIds.value) }
          : kind === 'tagged'
            ? { tags: list(tagList.value) }
            : kind.startsWith('tags:')
              ? { tags: [kind.slice('tags:'.length)] }
              : { group: kind.slice('group:'.length) };
    const body = {
      protocol: 1,
      modelVersion: Number(version.value),
      target,
      strategy: {
        waves: parseWaves(waves.value),
        maxNotifiedPerMinute: Number(rate.value),
        soakSeconds: Number(soak.value),
        gates: {
          minSuccessPercent: Number(minSuccess.value),
          maxMeanConfidenceDrop: Number(confDrop.value),
          maxLowConfidenceRateIncrease: Number(lowRise.value),
          minPredictions: Number(minPredictions.value),
          onFailure: onFailure.value,
        },
      },
    };
    const created = await attempt(() => api('createRollout', { body }), 'rollout started');
    if (created) onCreated(created);
  }

  const el = h(
    'form',
    { class: 'card rollout-form', id: 'rollout-form', onsubmit },
    h('h2', {}, 'New rollout'),
    h(
      'div',
      { class: 'form-grid' },
      field('Version', version),
      field('Target', targetKind),
      field('Device ids (for “these devices”)', deviceIds),
      field('Tags (for “all these tags”)', tagList),
      field('Waves (count or %)', waves),
      field('Devices notified per minute', rate),
      field('Soak after each wave (s)', soak),
      field('Gate: min. success %', minSuccess),
      field('Gate: max. confidence drop', confDrop),
      field('Gate: max. low-confidence rise', lowRise),
      field('Gate: predictions needed', minPredictions),
      field('When a gate fails', onFailure),
    ),
    h(
      'div',
      { class: 'toolbar' },
      submit,
      canChange() ? null : h('span', { class: 'muted' }, 'Viewers cannot start rollouts.'),
    ),
  );
  return { el, setChoices };
}
