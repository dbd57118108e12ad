// The Device page's "Model version" card: what the device runs and should run, what decides that
// (its pin, a rollout in progress, a group/tag target), and the pin controls. Precedence:
// device pin > rollout in progress > group/tag target.
import { actionButton, api, attempt, canCall, fill, h } from './lib.js';

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

/**
 * Built once per page and updated on every refresh: the page re-renders whenever the fleet
 * changes (every heartbeat), and the inputs must keep what the operator is typing.
 */
export function versionCard(deviceId, reload) {
  let typed = false;
  const input = h('input', {
    type: 'number',
    min: 1,
    step: 1,
    'aria-label': 'version to pin',
    id: 'device-pin-version',
    disabled: !canCall('pinDevice'),
    oninput: () => {
      typed = true;
    },
  });
  const reason = h('input', {
    type: 'text',
    placeholder: 'reason (optional)',
    'aria-label': 'pin reason',
    id: 'device-pin-reason',
    disabled: !canCall('pinDevice'),
  });
  const pinIt = async () => {
    const modelVersion = Number(input.value);
    const why = reason.value.trim();
    const body = { protocol: 1, modelVersion, ...(why ? { reason: why } : {}) };
    const ok = await attempt(
      () => api('pinDevice', { params: { id: deviceId }, body }),
      `pinned to v${modelVersion}`,
    );
    if (!ok) return;
    typed = false;
    reason.value = '';
    reload();
  };
  const unpin = async () => {
    const ok = await attempt(() => api('unpinDevice', { params: { id: deviceId } }), 'unpinned');
    if (ok) reload();
  };
  const pinButton = actionButton('Pin', pinIt, { id: 'device-pin-button', route: 'pinDevice' });
  const unpinButton = actionButton('Unpin', unpin, { id: 'device-unpin-button', route: 'unpinDevice' });
  const info = h('dl', { class: 'kv' });
  const el = h(
    'div',
    { class: 'card', id: 'device-version' },
    h('h2', {}, 'Model version'),
    info,
    h('div', { class: 'toolbar' }, input, reason, pinButton, unpinButton),
    h(
      'p',
      { class: 'muted' },
      'A pin outranks rollouts and group/tag targets; unpinning returns the device to its target.',
    ),
  );

  function update(device) {
    const pin = device.pin;
    if (!typed) input.value = String(pin?.modelVersion ?? device.reportedVersion ?? '');
    pinButton.textContent = pin ? 'Change pin' : 'Pin';
    unpinButton.disabled = !canCall('unpinDevice') || !pin;
    fill(
      info,
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
    );
    return el;
  }

  return { update };
}
