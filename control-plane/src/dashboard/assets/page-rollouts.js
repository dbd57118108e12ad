// Rollouts: shown once the control plane serves /api/v1/rollouts (issue 5).
import { h } from './lib.js';

export function rolloutsPage(root) {
  root.append(h('h1', {}, 'Rollouts'), h('p', { class: 'muted' }, 'This control plane has no rollout API.'));
  return {};
}
