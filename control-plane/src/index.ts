export { adminTokenPath } from './auth/key-files.ts';
export { hashSecret } from './auth/secrets.ts';
export type { App } from './http/app.ts';
export { type ControlPlane, type ControlPlaneDeps, startControlPlane } from './main.ts';
export type { ObjectStore } from './object-store/object-store.ts';
export type { Store } from './store/store.ts';
