/**
 * Property-based HTTP bodies for every route of the contract: path parameters, query strings and
 * bodies built from each route's own schemas (a well-formed example, then one mutation), plus
 * random JSON, truncated JSON, bytes that are not UTF-8 and wrong content types. The property:
 * the answer is never a 5xx, and a refused input changes nothing (recorder.ts).
 */
import { API_BASE, apiRoutes, type RouteDef } from '@edgeloop/shared';
import {
  exampleOf,
  int,
  jsonSchemaOf,
  mutate,
  pick,
  type Rng,
  randomJson,
  randomString,
} from './json-values.ts';
import type { Attempt, Recorder } from './recorder.ts';

export interface HttpCallers {
  baseUrl: string;
  adminToken: string;
  device: { deviceId: string; secret: string };
}

const BATCH = 20;

function authFor(route: RouteDef, callers: HttpCallers): Record<string, string> {
  if (route.access.length === 0) return {};
  if (route.access.every((a) => a === 'device')) {
    const basic = Buffer.from(`${callers.device.deviceId}:${callers.device.secret}`).toString('base64');
    return { authorization: `Basic ${basic}` };
  }
  return { authorization: `Bearer ${callers.adminToken}` };
}

function pathOf(route: RouteDef, rng: Rng): string {
  const schema = route.params ? jsonSchemaOf(route.params) : null;
  const example = (schema ? exampleOf(schema, rng) : {}) as Record<string, unknown>;
  return (
    API_BASE +
    route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = rng() < 0.3 ? randomString(rng).slice(0, 300) : String(example?.[name] ?? 'x');
      // Raw sometimes (the server sees what a careless client sends); lone surrogates never encode.
      return rng() < 0.1
        ? value.replace(/[\s#?]/g, '')
        : encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
    })
  );
}

function queryOf(route: RouteDef, rng: Rng): string {
  if (!route.query && rng() < 0.8) return '';
  const schema = route.query ? jsonSchemaOf(route.query) : null;
  const value = mutate(exampleOf(schema ?? undefined, rng), rng);
  const search = new URLSearchParams();
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) search.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  } else search.set(randomString(rng).slice(0, 20), JSON.stringify(value));
  const qs = search.toString();
  return qs ? `?${qs}` : '';
}

/** A body for a JSON route, with its content type; sometimes not JSON at all. */
function jsonBody(route: RouteDef, rng: Rng): { body: string | Uint8Array; type: string } {
  const schema = route.body?.type === 'json' ? jsonSchemaOf(route.body.schema) : null;
  const example = exampleOf(schema ?? undefined, rng);
  const r = rng();
  if (r < 0.65) return { body: JSON.stringify(mutate(example, rng)), type: 'application/json' };
  if (r < 0.8) return { body: JSON.stringify(randomJson(rng)), type: 'application/json' };
  if (r < 0.88) {
    const text = JSON.stringify(example) ?? '{}';
    return { body: text.slice(0, int(rng, 0, Math.max(0, text.length - 1))), type: 'application/json' };
  }
  if (r < 0.94) {
    const bytes = new Uint8Array(int(rng, 1, 64)).map(() => int(rng, 0x80, 0xff));
    return { body: bytes, type: 'application/json' };
  }
  return {
    body: JSON.stringify(example),
    type: pick(rng, [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      '',
    ]),
  };
}

/** Multipart fields from the route's form schema, each string possibly mutated; files random. */
function formBody(route: RouteDef, rng: Rng): FormData {
  const form = new FormData();
  const shape = route.body?.type === 'multipart' ? route.body.schema.shape : {};
  for (const [name, field] of Object.entries(shape)) {
    if (rng() < 0.15) continue;
    const schema = jsonSchemaOf(field as never);
    const isFile = schema?.format === 'binary' || schema?.contentEncoding === 'binary';
    if (isFile || rng() < 0.1) {
      const bytes = new Uint8Array(int(rng, 0, 2048)).map(() => int(rng, 0, 255));
      form.set(name, new Blob([bytes]), rng() < 0.2 ? randomString(rng).slice(0, 200) : 'f.png');
    } else {
      const example = exampleOf(schema ?? undefined, rng);
      const value = rng() < 0.5 ? mutate(example, rng) : example;
      form.set(name, typeof value === 'string' ? value : JSON.stringify(value));
    }
  }
  return form;
}

async function send(url: string, init: RequestInit, onStatus?: (status: number) => void): Promise<Attempt> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 15_000);
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    // Streams (the change feed) stay open: the status is the answer.
    if (res.headers.get('content-type')?.includes('event-stream')) controller.abort();
    else await res.arrayBuffer();
    onStatus?.(res.status);
    return {
      rejected: res.status >= 400,
      unexpected: res.status >= 500 ? `${init.method} ${url.slice(0, 200)} -> ${res.status}` : null,
    };
  } catch (err) {
    // A URL the client itself cannot send was never an input.
    if (/Failed to parse URL|Invalid URL/.test((err as Error).message))
      return { rejected: true, unexpected: null };
    // undici says "fetch failed" and puts what happened (a reset, a closed socket) in `cause`.
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    const why = controller.signal.aborted
      ? 'no answer in 15 s'
      : `${(err as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`;
    return { rejected: true, unexpected: `${init.method} ${url.slice(0, 200)}: ${why}` };
  } finally {
    clearTimeout(timer);
  }
}

/** About `budget` inputs spread over every route of the contract. */
export async function fuzzHttp(
  callers: HttpCallers,
  recorder: Recorder,
  rng: Rng,
  budget: number,
): Promise<void> {
  const routes = Object.values(apiRoutes) as RouteDef[];
  const perRoute = Math.max(1, Math.ceil(budget / routes.length));
  for (const route of routes) {
    for (let done = 0; done < perRoute; done += BATCH) {
      const sends = Array.from({ length: Math.min(BATCH, perRoute - done) }, () => () => {
        const headers: Record<string, string> = authFor(route, callers);
        let body: string | Uint8Array | FormData | undefined;
        if (route.body?.type === 'json') {
          const b = jsonBody(route, rng);
          body = b.body;
          if (b.type) headers['content-type'] = b.type;
        } else if (route.body?.type === 'multipart') {
          body = formBody(route, rng);
        } else if (rng() < 0.1 && route.method !== 'GET') {
          body = JSON.stringify(randomJson(rng));
          headers['content-type'] = 'application/json';
        }
        // Past ~16 KB of request line Node's server answers 431 and closes: keep URLs to 8 KB.
        const url = `${callers.baseUrl}${pathOf(route, rng)}${queryOf(route, rng)}`.slice(0, 8192);
        // An accepted rotation changed the device's secret: the routes after it go on as the
        // device, not as a stranger answered 401 before its body is read (a refusal that early
        // also closes the connection under a client still sending, which is not a defect).
        const adopt =
          route === apiRoutes.rotateDeviceSecret && typeof body === 'string'
            ? (status: number) => {
                if (status < 300) callers.device.secret = (JSON.parse(body) as { secret: string }).secret;
              }
            : undefined;
        return send(url, { method: route.method, headers, body }, adopt);
      });
      await recorder.batch(`http ${route.id}`, sends);
    }
  }
}
