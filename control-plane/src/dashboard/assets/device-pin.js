// The Device page's "Model version" card: what the device runs and should run, what decides that
// (its pin, a rollout in progress, a group/tag target), and the pin controls. Precedence:
// device pin > rollout in progress > group/tag target.
import { actionButton, api, attempt, canChange, h } from './lib.js';

const v = (n) => (n === null || n === undefined ? '–' : `v${n}`);

function selectorText(s) {
  if (s.group !== undefined) return `group ${s.group}`;
  if (s.tags !== undefined) return `tags ${s.tags.join(', ')}`;
  return 'all devices';
}

function governedText(g) {
  switch (g.source) {
    case 'pin':
      return `its pin (${v(g.modelVersion)})`;
    case 'rollout':
      return h(
        'span',
        {},
        'a rollout in progress (',
        h('a', { href: `#/rollouts/${encodeURIComponent(g.rolloutId)}` }, 'open'),
        ')',
      );
    case 'target':
      return `the target of ${selectorText(g.selector)} (${v(g.modelVersion)})`;
    default:
      return 'nothing yet (no pin, rollout or group/tag target covers it)';
  }
}

export function versionCard(device, reload) {
  const pin = device.pin;
  const input = h('input', {
    type: 'number',
    min: 1,
    step: 1,
    value: pin?.modelVersion ?? device.reportedVersion ?? '',
    'aria-label': 'version to pin',
    id: 'device-pin-version',
    disabled: !canChange(),
  });
  const reason = h('input', {
    type: 'text',
    placeholder: 'reason (optional)',
    'aria-label': 'pin reason',
    id: 'device-pin-reason',
    disabled: !canChange(),
  });
  const pinIt = async () => {
    const modelVersion = Number(input.value);
    const body = {
      protocol: 1,
      modelVersion,
      ...(reason.value.trim() ? { reason: reason.value.trim() } : {}),
    };
    const ok = await attempt(
      () => api('pinDevice', { params: { id: device.deviceId }, body }),
      `pinned to v${modelVersion}`,
    );
    if (ok) reload();
  };
  const unpin = async () => {
    const ok = await attempt(() => api('unpinDevice', { params: { id: device.deviceId } }), 'unpinned');
    if (ok) reload();
  };
  return h(
    'div',
    { class: 'card', id: 'device-version' },
    h('h2', {}, 'Model version'),
    h(
      'dl',
      { class: 'kv' },
      [h('dt', {}, 'Runs'), h('dd', {}, v(device.reportedVersion))],
      [
        h('dt', {}, 'Should run'),
        h(
          'dd',
          {},
          v(device.desiredVersion),
          device.converging ? h('span', { class: 'muted', id: 'device-converging' }, ' · converging') : null,
        ),
      ],
      [h('dt', {}, 'Decided by'), h('dd', { id: 'device-governed-by' }, governedText(device.governedBy))],
      [
        h('dt', {}, 'Pin'),
        h(
          'dd',
          { id: 'device-pin' },
          pin
            ? `pinned to ${v(pin.modelVersion)} by ${pin.pinnedBy}${pin.reason ? ` (${pin.reason})` : ''}`
            : 'not pinned',
        ),
      ],
    ),
    h(
      'div',
      { class: 'toolbar' },
      input,
      reason,
      actionButton(pin ? 'Change pin' : 'Pin', pinIt, { id: 'device-pin-button' }),
      actionButton('Unpin', unpin, { disabled: !pin, id: 'device-unpin-button' }),
    ),
    h(
      'p',
      { class: 'muted' },
      'A pin outranks rollouts and group/tag targets; unpinning returns the device to its target.',
    ),
  );
}
