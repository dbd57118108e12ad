export { controlPlaneCommand } from './cli.ts';
export { hashPasswordCommand } from './hash-password.ts';
export type { App } from './http/app.ts';
export { type ControlPlane, type ControlPlaneDeps, startControlPlane } from './main.ts';
export type { ObjectStore } from './object-store/object-store.ts';
export { formatRollout, rolloutCommand } from './rollouts/rollout-command.ts';
export type { Store } from './store/store.ts';
