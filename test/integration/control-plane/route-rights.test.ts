/**
 * The table of rights (docs/security.md#roles-and-rights), checked route by route on the real HTTP
 * server: EVERY route of the contract is called as a viewer, an operator and an admin (dashboard
 * sessions), with the admin token, as a device and with no credentials, and each answer must be
 * "allowed" (anything but 401/403) or "denied" (401/403) as the table below says. A route added to
 * the contract without a line here fails this test until someone decides who may call it.
 */
import { API_BASE, apiRoutes, type RouteDef, routeUrl } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../../control-plane/src/auth/secrets.ts';
import { type Device, enroll, startTestControlPlane, type TestControlPlane } from './helpers.ts';

/** The lowest caller each route admits: people roles are ordered viewer < operator < admin. */
type Right = 'anyone' | 'device' | 'device+viewer' | 'viewer' | 'operator' | 'admin';
const RIGHTS: Record<string, Right> = {
  getOpenApi: 'anyone',
  getHealth: 'anyone',
  enrollDevice: 'anyone',
  // Devices: their own desired state, config, samples, and the model files they install.
  getDesiredState: 'device',
  getDesiredConfig: 'device',
  uploadSample: 'device',
  requestSampleUpload: 'device',
  commitSampleUpload: 'device',
  rotateDeviceSecret: 'device',
  // The broker's auth hooks answer to the hook secret a clustered broker sends, not to a role
  // (404 while hooks are off, as here; test/integration/broker/broker-hooks.test.ts covers them).
  authenticateBrokerClient: 'anyone',
  authorizeBrokerClient: 'anyone',
  getManifest: 'device+viewer',
  getRollbackManifest: 'device+viewer',
  getModelFile: 'device+viewer',
  getAgentBundle: 'device+viewer',
  // Admins only: who joins the fleet, what models exist, versions outside a rollout, users.
  createEnrollmentToken: 'admin',
  publishModel: 'admin',
  publishAgentVersion: 'admin',
  assignModel: 'admin',
  pinDevice: 'admin',
  unpinDevice: 'admin',
  revokeDevice: 'admin',
  listSigningKeys: 'viewer',
  rotateSigningKey: 'admin',
  retireSigningKey: 'admin',
  // Operators: label, promote, run the pipeline, roll out registered versions, tune devices.
  updateDevice: 'operator',
  createRollout: 'operator',
  pauseRollout: 'operator',
  resumeRollout: 'operator',
  abortRollout: 'operator',
  createAgentRollout: 'operator',
  abortAgentRollout: 'operator',
  rollbackRollout: 'operator',
  bulkConfirm: 'operator',
  labelSample: 'operator',
  addClass: 'operator',
  addDatasetImage: 'operator',
  importDataset: 'operator',
  createDatasetVersion: 'operator',
  setAlias: 'operator',
  setLineage: 'operator',
  promoteModel: 'operator',
  triggerPipeline: 'operator',
  cancelPipelineRun: 'operator',
  putConfigFragment: 'operator',
  deleteConfigFragment: 'operator',
  tryModel: 'operator',
  // Viewers: read everything (camera passwords redacted).
  listDevices: 'viewer',
  getDevice: 'viewer',
  listFleetTargets: 'viewer',
  getDeviceFrame: 'viewer',
  getDeviceFrameJpeg: 'viewer',
  listModels: 'viewer',
  listSamples: 'viewer',
  getSampleImage: 'viewer',
  listRollouts: 'viewer',
  getRollout: 'viewer',
  listAgentVersions: 'viewer',
  listAgentRollouts: 'viewer',
  getAgentRollout: 'viewer',
  getLabelQueue: 'viewer',
  getLabelledSample: 'viewer',
  listClasses: 'viewer',
  listDatasets: 'viewer',
  listDatasetImages: 'viewer',
  listDatasetVersions: 'viewer',
  getDatasetVersion: 'viewer',
  getDatasetVersionImage: 'viewer',
  listAliases: 'viewer',
  compareModels: 'viewer',
  getModelDetails: 'viewer',
  listPipelineRuns: 'viewer',
  getPipelineRun: 'viewer',
  listConfigFragments: 'viewer',
  getConfigFragment: 'viewer',
  getDeviceConfig: 'viewer',
  getSession: 'viewer',
  getFleet: 'viewer',
  getDeviceTelemetry: 'viewer',
  getEventStream: 'viewer',
  listAlerts: 'viewer',
};

type Caller = 'anonymous' | 'device' | 'viewer' | 'operator' | 'admin' | 'admin-token';
const CALLERS: Caller[] = ['anonymous', 'device', 'viewer', 'operator', 'admin', 'admin-token'];
const PEOPLE = ['viewer', 'operator', 'admin'];

function allowed(right: Right, caller: Caller): boolean {
  if (right === 'anyone') return true;
  if (caller === 'anonymous') return false;
  if (caller === 'device') return right === 'device' || right === 'device+viewer';
  if (right === 'device') return false;
  const role = caller === 'admin-token' ? 'admin' : caller;
  const needed = right === 'device+viewer' ? 'viewer' : right;
  return PEOPLE.indexOf(role) >= PEOPLE.indexOf(needed);
}

/** Well-formed path parameters that name nothing in particular. */
const PARAMS: Record<string, string> = {
  id: 'cam-rights',
  name: 'base',
  version: '1',
  ref: '1',
  sha256: 'a'.repeat(64),
  scope: 'device',
  key: 'cam-rights',
};

let t: TestControlPlane;
let device: Device;
const cookies: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestControlPlane({
    users: [
      { name: 'vic', role: 'viewer', passwordHash: await hashSecret('viewer-pass') },
      { name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') },
      { name: 'ada', role: 'admin', passwordHash: await hashSecret('admin-pass') },
    ],
  });
  device = await enroll(t, 'cam-rights');
  for (const [role, name] of [
    ['viewer', 'vic'],
    ['operator', 'olga'],
    ['admin', 'ada'],
  ]) {
    const res = await fetch(`${t.cp.httpUrl}/ui/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, password: `${role}-pass` }),
    });
    expect(res.status).toBe(200);
    cookies[role] = (res.headers.get('set-cookie') ?? '').split(';')[0];
  }
});
afterAll(async () => {
  await t.stop();
});

async function call(route: RouteDef, caller: Caller): Promise<number> {
  const headers = new Headers();
  if (caller === 'device') {
    headers.set(
      'authorization',
      `Basic ${Buffer.from(`${device.deviceId}:${device.secret}`).toString('base64')}`,
    );
  } else if (caller === 'admin-token') {
    headers.set('authorization', `Bearer ${t.cp.adminToken}`);
  } else if (caller !== 'anonymous') {
    headers.set('cookie', cookies[caller]);
    headers.set('x-edgeloop-dashboard', '1');
  }
  let body: string | FormData | undefined;
  if (route.body?.type === 'json') {
    headers.set('content-type', 'application/json');
    body = '{}';
  } else if (route.body?.type === 'multipart') {
    body = new FormData();
  }
  const params = Object.fromEntries(
    (route.path.match(/\{(\w+)\}/g) ?? []).map((p) => [p.slice(1, -1), PARAMS[p.slice(1, -1)] ?? 'x']),
  );
  // Revoking the test's own device would turn every later device call into a 401.
  if (route.id === 'revokeDevice') params.id = 'cam-someone-else';
  const url = route.path.startsWith('/') ? routeUrl(route, params) : `${API_BASE}/${route.path}`;
  const controller = new AbortController();
  const res = await fetch(`${t.cp.httpUrl}${url}`, {
    method: route.method,
    headers,
    body,
    signal: controller.signal,
  });
  // Streams (the change feed) stay open: the status is all this test needs.
  controller.abort();
  return res.status;
}

describe('rights per route', () => {
  const routes = Object.values(apiRoutes) as RouteDef[];

  it('has a line in the table for every route of the contract', () => {
    expect(routes.map((r) => r.id).filter((id) => !(id in RIGHTS))).toEqual([]);
  });

  it('admits and refuses every caller on every route as the table says', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const right = RIGHTS[route.id];
      if (!right) continue;
      for (const caller of CALLERS) {
        const status = await call(route, caller);
        const denied = status === 401 || status === 403;
        if (denied === allowed(right, caller)) {
          wrong.push(`${route.id} as ${caller}: ${status} (table: ${right})`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
