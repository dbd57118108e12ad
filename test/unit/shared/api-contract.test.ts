/**
 * The API contract as data: paths fill in and match back, access follows the role order, and no
 * source file outside the contract module spells the API's base path (so every route is defined
 * once and the server, clients, dashboard and docs cannot disagree).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { API_BASE, apiRoutes, matchRoute, mayCall, type RouteDef, routeUrl } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const CONTRACT_DIR = 'shared/src/api';
const SOURCE_DIRS = ['shared', 'agent', 'control-plane', 'trainer', 'cli', 'bench'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

describe('the API contract', () => {
  it('names every route once, by a unique id and a unique method and path', () => {
    const routes = Object.entries(apiRoutes) as [string, RouteDef][];
    for (const [key, route] of routes) expect(route.id).toBe(key);
    const keys = routes.map(([, r]) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('fills path parameters in, encoded, and reads them back from a handed-out path', () => {
    const url = routeUrl(apiRoutes.getModelFile, { version: 3, name: 'a b/c.onnx' });
    expect(url).toBe(`${API_BASE}/models/3/files/a%20b%2Fc.onnx`);
    const manifests = [apiRoutes.getManifest, apiRoutes.getRollbackManifest];
    expect(matchRoute(manifests, routeUrl(apiRoutes.getRollbackManifest, { version: 7 }))).toEqual({
      route: apiRoutes.getRollbackManifest,
      params: { version: '7' },
    });
    // A desired state must not steer a device's credentials to any other route.
    expect(matchRoute(manifests, routeUrl(apiRoutes.listDevices))).toBeNull();
    expect(matchRoute(manifests, `${API_BASE}/models/7/manifest/../../devices`)).toBeNull();
    expect(() => routeUrl(apiRoutes.getDevice)).toThrow(/missing path parameter 'id'/);
    expect(routeUrl(apiRoutes.listSamples, {}, { labelled: true, limit: 5, offset: undefined })).toBe(
      `${API_BASE}/samples?labelled=true&limit=5`,
    );
  });

  it('orders dashboard roles: viewers read, operators change, devices only their own routes', () => {
    expect(mayCall(apiRoutes.listDevices, 'viewer')).toBe(true);
    expect(mayCall(apiRoutes.createRollout, 'viewer')).toBe(false);
    expect(mayCall(apiRoutes.createRollout, 'operator')).toBe(true);
    expect(mayCall(apiRoutes.createRollout, 'admin')).toBe(true);
    expect(mayCall(apiRoutes.createRollout, 'device')).toBe(false);
    expect(mayCall(apiRoutes.uploadSample, 'device')).toBe(true);
    expect(mayCall(apiRoutes.uploadSample, 'admin')).toBe(false);
    expect(mayCall(apiRoutes.getManifest, 'device')).toBe(true);
    expect(mayCall(apiRoutes.enrollDevice, 'device')).toBe(true);
    // Every route that changes something needs at least an operator (or a device, for its own).
    for (const route of Object.values(apiRoutes) as RouteDef[]) {
      if (route.method !== 'GET' && route.access.length > 0) expect(mayCall(route, 'viewer')).toBe(false);
    }
  });

  it('is the only place that spells the API base path', () => {
    const offenders: string[] = [];
    for (const dir of SOURCE_DIRS) {
      for (const file of sourceFiles(join(ROOT, dir))) {
        const rel = relative(ROOT, file);
        if (rel.startsWith(CONTRACT_DIR)) continue;
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (line.includes(API_BASE)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
          });
      }
    }
    expect(offenders).toEqual([]);
  });
});
