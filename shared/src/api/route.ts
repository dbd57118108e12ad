/**
 * What one HTTP route of the control plane is, as data: method, path, the schemas of its inputs
 * and outputs, who may call it and how big its body may be. The server registers its routes from
 * these records, every client builds its calls from them, and the OpenAPI document is generated
 * from them — so the three cannot drift apart.
 */
import type { z } from 'zod';
import type { UserRole } from '../config/control-plane-config.ts';

/** The API's one base path; nothing else in the source spells it. */
export const API_BASE = '/api/v1';

/**
 * Who may call a route. Dashboard roles are ordered (viewer < operator < admin) and the admin
 * token counts as admin, so `['viewer']` admits every signed-in person; `device` is a device's
 * own credentials. An empty list means anyone (health, enrollment with a token).
 */
export type Caller = 'device' | 'viewer' | 'operator' | 'admin';
/** Dashboard roles, least to most. */
const ROLE_ORDER: readonly UserRole[] = ['viewer', 'operator', 'admin'];

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Limits that come from the control plane's config, named so a route can point at them. */
export interface BodyLimits {
  sampleMaxBytes: number;
  modelMaxBytes: number;
}

/** A fixed byte count, or one of the configured limits plus room for multipart framing. */
export type BodyLimit = number | { limit: keyof BodyLimits; overheadBytes: number };

/** JSON bodies share one small limit unless a route says otherwise. */
export const JSON_BODY_MAX_BYTES = 1024 * 1024;

export type BodySpec =
  | { type: 'json'; schema: z.ZodType }
  /** Fields of a multipart/form-data body: strings, and files (`z.file()`). */
  | { type: 'multipart'; schema: z.ZodObject };

export type ResponseSpec =
  | { type: 'json'; schema: z.ZodType; description: string }
  | { type: 'binary'; contentType: string; description: string }
  | { type: 'event-stream'; description: string }
  /** A 3xx whose Location is where the bytes are (a presigned object-storage URL). */
  | { type: 'redirect'; description: string };

export interface RouteDef {
  /** The operation's name: the client method, the OpenAPI operationId and the dashboard's key. */
  id: string;
  method: Method;
  /** Under API_BASE, OpenAPI style: `/devices/{id}`. */
  path: string;
  summary: string;
  description?: string;
  /** OpenAPI tag: the area of the API. */
  tag: string;
  access: readonly Caller[];
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: BodySpec;
  /** Success responses by status; errors are always the shared error body. */
  responses: Readonly<Record<number, ResponseSpec>>;
  /** Refused while streaming once exceeded; JSON_BODY_MAX_BYTES when absent. */
  bodyLimit?: BodyLimit;
}

/** Keeps each definition's literal types (for typed clients and handlers) while checking its shape. */
export function defineRoute<const R extends RouteDef>(route: R): R {
  return route;
}

export function bodyLimitOf(route: RouteDef, limits: BodyLimits): number {
  const limit = route.bodyLimit ?? JSON_BODY_MAX_BYTES;
  return typeof limit === 'number' ? limit : limits[limit.limit] + limit.overheadBytes;
}

/** The Hono form of a path: `/devices/{id}` → `/devices/:id`. */
export function honoPath(route: RouteDef): string {
  return API_BASE + route.path.replace(/\{(\w+)\}/g, ':$1');
}

/** A concrete URL path with its parameters filled in (encoded) and an optional query string. */
export function routeUrl(
  route: RouteDef,
  params: Record<string, string | number> = {},
  query: Record<string, string | number | boolean | undefined> = {},
): string {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`${route.id}: missing path parameter '${name}'`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const qs = search.toString();
  return `${API_BASE}${path}${qs ? `?${qs}` : ''}`;
}

/**
 * Which of `routes` a concrete path (as a server hands it out, e.g. a desired state's manifest
 * path) names, with its parameters; null when none does.
 */
export function matchRoute<R extends RouteDef>(
  routes: readonly R[],
  path: string,
): { route: R; params: Record<string, string> } | null {
  for (const route of routes) {
    const names: string[] = [];
    const pattern = (API_BASE + route.path)
      .split(/\{(\w+)\}/)
      .map((part, i) => {
        if (i % 2 === 1) {
          names.push(part);
          return '([^/?#]+)';
        }
        return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      })
      .join('');
    const match = new RegExp(`^${pattern}$`).exec(path);
    if (match) {
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(match[i + 1] ?? '');
      });
      return { route, params };
    }
  }
  return null;
}

/** Whether a caller with this role (or a device) may call the route. */
export function mayCall(route: RouteDef, caller: Caller): boolean {
  if (route.access.length === 0) return true;
  if (caller === 'device') return route.access.includes('device');
  const needed = route.access.filter((a): a is UserRole => a !== 'device');
  if (needed.length === 0) return false;
  const rank = (r: UserRole) => ROLE_ORDER.indexOf(r);
  return rank(caller) >= Math.min(...needed.map(rank));
}

/** The first 2xx JSON response schema, which clients parse answers with. */
export function successSpec(route: RouteDef): { status: number; spec: ResponseSpec } {
  const entry = Object.entries(route.responses).find(([status]) => Number(status) < 300);
  if (!entry) throw new TypeError(`${route.id}: no success response`);
  return { status: Number(entry[0]), spec: entry[1] };
}
