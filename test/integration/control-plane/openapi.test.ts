/**
 * The OpenAPI document a running control plane serves: valid OpenAPI 3.1 by an independent
 * validator, the same operations as the routes the app really serves, and a document a client
 * can trust (a protected route refuses strangers; a public one answers).
 */
import { API_BASE, apiRoutes, type RouteDef, routeUrl } from '@edgeloop/shared';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers.ts';

let t: TestControlPlane;
type Document = {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; security: unknown[] }>>;
  components: { securitySchemes: Record<string, unknown> };
};
let doc: Document;

beforeAll(async () => {
  t = await startTestControlPlane();
  const res = await fetch(`${t.cp.httpUrl}${routeUrl(apiRoutes.getOpenApi)}`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Document;
});
afterAll(() => t?.stop());

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

describe('GET openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'adminBearer',
      'dashboardCookie',
      'deviceBasic',
    ]);
  });

  it('lists exactly the operations the app serves under the API base', () => {
    const served = new Set(
      t.cp.app.routes
        .filter((r) => r.path.startsWith(API_BASE) && HTTP_METHODS.has(r.method))
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    expect(documented.size).toBe(Object.keys(apiRoutes).length);
  });

  it('documents who may call each operation, and the server enforces it', async () => {
    for (const route of Object.values(apiRoutes) as RouteDef[]) {
      const op = doc.paths[API_BASE + route.path]?.[route.method.toLowerCase()];
      expect(op?.operationId).toBe(route.id);
      expect(op?.security.length === 0).toBe(route.access.length === 0);
      if (route.access.length === 0) continue;
      // A stranger is refused before anything else happens, on every protected route.
      const params = Object.fromEntries(
        Object.keys(route.params?.shape ?? {}).map((name) => [
          name,
          name === 'sha256' ? 'a'.repeat(64) : '1',
        ]),
      );
      const res = await fetch(`${t.cp.httpUrl}${routeUrl(route, params)}`, { method: route.method });
      expect(res.status, `${route.method} ${route.path}`).toBe(401);
    }
  });
});
