/**
 * Serves the dashboard under /ui: one HTML shell, a stylesheet and plain ES modules from
 * ./assets (no CDN, no build step: the browser loads the modules as they are), plus sign-in and
 * sign-out that set and clear the session cookie.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  API_BASE,
  apiRoutes,
  EdgeloopError,
  NotFoundError,
  SignInSchema,
  UnauthorizedError,
} from '@edgeloop/shared';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { SESSION_COOKIE } from '../auth/sessions.ts';
import { limitBody, readJson } from '../http/body.ts';
import type { AppDeps, AppEnv } from '../http/env.ts';
import { clientAddress } from '../http/server.ts';

const ASSETS = join(import.meta.dirname, 'assets');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const ASSET_NAME = /^[a-z0-9-]+\.(css|js|svg)$/;
/** A name and a password fit in far less; anyone may call sign-in, so it gets the smallest limit. */
const SIGN_IN_MAX_BYTES = 4 * 1024;

async function asset(name: string, generated?: string): Promise<Response> {
  const ext = name.slice(name.lastIndexOf('.'));
  const bytes =
    generated ??
    (await readFile(join(ASSETS, name)).catch(() => {
      throw new NotFoundError(`no dashboard asset '${name}'`);
    }));
  return new Response(bytes, {
    headers: {
      'Content-Type': TYPES[ext] ?? 'application/octet-stream',
      // Modules are re-read on every start; a short cache keeps reloads fast and upgrades visible.
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      // Only our own scripts and data; style attributes set by the scripts need 'unsafe-inline';
      // blob: is the Try page's local preview. No framing (clickjacking the action buttons).
      'Content-Security-Policy':
        "default-src 'self'; img-src 'self' blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    },
  });
}

/** The contract's routes for the pages' fetch helper (lib.js): id → method, path template and access. */
function routesModule(): string {
  const table = Object.fromEntries(
    Object.values(apiRoutes).map((r) => [
      r.id,
      { method: r.method, path: API_BASE + r.path, access: r.access },
    ]),
  );
  return `// Generated from the API contract (shared/src/api) by the control plane.\nexport const routes = ${JSON.stringify(table, null, 2)};\n`;
}

export function dashboardUiRoutes(deps: AppDeps) {
  const routes = routesModule();
  const sessions = deps.sessions;
  return new Hono<AppEnv>()
    .get('/', (c) => c.redirect('/ui/'))
    .get('/ui', (c) => c.redirect('/ui/'))
    .get('/ui/', () => asset('index.html'))
    .get('/ui/assets/api-routes.js', () => asset('api-routes.js', routes))
    .get('/ui/assets/:name', (c) => {
      const name = c.req.param('name');
      if (!ASSET_NAME.test(name)) throw new NotFoundError(`no dashboard asset '${name}'`);
      return asset(name);
    })
    .post('/ui/sign-in', limitBody(SIGN_IN_MAX_BYTES, 'sign-in body'), async (c) => {
      // JSON only: a cross-site HTML form can post urlencoded, multipart or text/plain, never
      // application/json without a CORS preflight, so no one signs a victim into their account.
      if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
        throw new EdgeloopError('UNSUPPORTED_MEDIA', 'sign-in takes an application/json body');
      }
      const { name, password } = await readJson(c, SignInSchema, 'sign-in');
      const { guard } = deps;
      const attempt = await guard?.admit('sign-in', clientAddress(c), name);
      const signIn = async () => (sessions ? sessions.signIn(name, password) : null);
      const session = guard ? await guard.hash('sign-in', signIn) : await signIn();
      if (!sessions || !session) {
        await attempt?.failed();
        deps.logger.info({ name }, 'dashboard sign-in refused');
        throw new UnauthorizedError('wrong name or password');
      }
      setCookie(c, SESSION_COOKIE, sessions.encode(session), {
        httpOnly: true,
        sameSite: 'Strict',
        path: '/',
        secure: new URL(c.req.url).protocol === 'https:',
        maxAge: Math.floor((session.expiresAt - Date.now()) / 1000),
      });
      deps.logger.info({ name, role: session.role }, 'dashboard sign-in');
      return c.json({ name: session.name, role: session.role });
    })
    .post('/ui/sign-out', async (c) => {
      // Revoked server-side too: a copy of the cookie stops working now, not at its expiry.
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie && sessions) await sessions.revoke(cookie);
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.json({ ok: true });
    });
}
