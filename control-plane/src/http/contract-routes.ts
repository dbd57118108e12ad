/**
 * Serves the API contract (shared/src/api): for every route, the body limit, who may call it, and
 * validation of path, query and body with the route's own schemas, then its handler. The handler
 * table is typed against the contract, so a route without a handler does not compile. With
 * `checkResponses` (tests), every answer is checked against the documented response too.
 */
import {
  type ApiRoutes,
  apiRoutes,
  bodyLimitOf,
  EdgeloopError,
  type HandlerInput,
  honoPath,
  NotFoundError,
  parseWith,
  type ReplyOf,
  type RouteDef,
  type RouteId,
} from '@edgeloop/shared';
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { authorize } from './auth.ts';
import { limitBody, readForm, readJson } from './body.ts';
import type { AppDeps, AppEnv } from './env.ts';

export type Handler<R extends RouteDef> = (
  input: HandlerInput<R>,
  c: Context<AppEnv>,
) => ReplyOf<R> | Promise<ReplyOf<R>>;

export type Handlers = { [K in RouteId]: Handler<ApiRoutes[K]> };

/** Lets an area's file define some handlers with full types: `handlers({ listDevices: … })`. */
export function handlers<K extends RouteId>(table: { [P in K]: Handlers[P] }): { [P in K]: Handlers[P] } {
  return table;
}

async function readBody(c: Context<AppEnv>, route: RouteDef): Promise<unknown> {
  if (!route.body) return undefined;
  if (route.body.type === 'json') return readJson(c, route.body.schema, `${route.id} body`);
  const form = await readForm(c);
  const fields: Record<string, unknown> = {};
  for (const [name, value] of form.entries()) if (!(name in fields)) fields[name] = value;
  return parseWith(route.body.schema, fields, `${route.id} form`);
}

function checkReply(route: RouteDef, reply: unknown): void {
  if (reply instanceof Response) {
    // Errors answered directly (a 416 for a range past the end) are not success responses.
    if (reply.status >= 400) return;
    const spec = route.responses[reply.status];
    if (!spec || spec.type === 'json') {
      throw new EdgeloopError('INTERNAL', `${route.id} answered ${reply.status} outside its contract`);
    }
    return;
  }
  const { status, body } = reply as { status: number; body: unknown };
  const spec = route.responses[status];
  if (spec?.type !== 'json') {
    throw new EdgeloopError('INTERNAL', `${route.id} answered JSON ${status} outside its contract`);
  }
  const result = spec.schema.safeParse(body);
  if (!result.success) {
    throw new EdgeloopError('INTERNAL', `${route.id} answered ${status} unlike its documented schema`, {
      details: result.error.issues,
    });
  }
}

/** Told of every answered request with its route id (the latency histogram's label). */
export type RequestObserver = (routeId: RouteId, method: string, status: number, seconds: number) => void;

export function mountContract(
  app: Hono<AppEnv>,
  deps: AppDeps,
  table: Handlers,
  options: { checkResponses?: boolean; observe?: RequestObserver } = {},
): void {
  const { observe } = options;
  for (const [id, route] of Object.entries(apiRoutes) as [RouteId, RouteDef][]) {
    const handler = table[id] as unknown as Handler<RouteDef>;
    app.on(
      route.method,
      honoPath(route),
      // First, so refused and failed requests are timed too (onError has set c.res by then).
      async (c, next) => {
        if (!observe) return next();
        const start = performance.now();
        try {
          await next();
        } finally {
          observe(id, route.method, c.res.status, (performance.now() - start) / 1000);
        }
      },
      // Who is calling first: a stranger is refused before a large limit lets it stream megabytes.
      authorize(deps, route),
      limitBody(bodyLimitOf(route, deps.config.limits), `${route.id} body`),
      async (c) => {
        // A path that does not parse names nothing that exists.
        const params = route.params
          ? parseOr404(route, c.req.param() as Record<string, string>)
          : ({} as Record<string, never>);
        const query = route.query ? parseWith(route.query, c.req.query(), 'query') : {};
        const body = await readBody(c, route);
        const reply = await handler({ params, query, body } as HandlerInput<RouteDef>, c);
        if (options.checkResponses) checkReply(route, reply);
        if (reply instanceof Response) return reply;
        const {
          status,
          body: json,
          headers,
        } = reply as {
          status: number;
          body: unknown;
          headers?: Record<string, string>;
        };
        return c.json(json as object, status as ContentfulStatusCode, headers);
      },
    );
  }
}

function parseOr404(route: RouteDef, raw: Record<string, string>) {
  const result = route.params?.safeParse(raw);
  if (!result?.success) {
    throw new NotFoundError(`no ${route.tag} resource at ${route.path} with ${JSON.stringify(raw)}`);
  }
  return result.data as Record<string, never>;
}
