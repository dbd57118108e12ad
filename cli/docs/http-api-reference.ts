/**
 * docs/reference/http-api.md from the API contract: every route with who may call it, its body
 * limit and what it does. The running control plane serves the full schemas (/docs); this page is
 * the index a reader can grep without one.
 */
import {
  API_BASE,
  apiRoutes,
  type BodyLimit,
  JSON_BODY_MAX_BYTES,
  mayCall,
  type RouteDef,
} from '@edgeloop/shared';

function who(route: RouteDef): string {
  if (route.access.length === 0) return 'anyone';
  const parts: string[] = [];
  if (route.access.includes('device')) parts.push('device');
  const roles = route.access.filter((a) => a !== 'device');
  if (roles.length > 0) parts.push(`${roles.join('/')}+`);
  return parts.join(', ');
}

function limit(route: RouteDef): string {
  if (!route.body) return '–';
  const l: BodyLimit = route.bodyLimit ?? JSON_BODY_MAX_BYTES;
  if (typeof l === 'number') return l >= 1024 * 1024 ? `${l / (1024 * 1024)} MiB` : `${l / 1024} KiB`;
  return `\`limits.${l.limit}\` + ${l.overheadBytes / 1024} KiB`;
}

function body(route: RouteDef): string {
  if (!route.body) return '–';
  return route.body.type === 'json' ? 'JSON' : 'multipart';
}

function answers(route: RouteDef): string {
  return Object.entries(route.responses)
    .map(([status, spec]) => (spec.type === 'json' ? status : `${status} ${spec.type}`))
    .join(', ');
}

export function httpApiReferenceMarkdown(): string {
  const routes = Object.values(apiRoutes) as RouteDef[];
  const tags = [...new Set(routes.map((r) => r.tag))];
  const lines = [
    '# HTTP API',
    '',
    '<!-- Generated from the API contract (shared/src/api) by `npm run docs:api`; do not edit. -->',
    '',
    `The control plane's HTTP API lives under \`${API_BASE}\`. Every route is defined once, as data, in`,
    '`shared/src/api/routes/`: the server registers its routes from those definitions, every client (CLI,',
    'agent, demo, dashboard) calls through them, and the OpenAPI document is generated from them. A',
    'running control plane describes itself in full:',
    '',
    '- **`http://<control plane>/docs`**: interactive API docs (Swagger UI) with every operation, its',
    '  parameters, request and response schemas and who may call it. The files come from the',
    '  `swagger-ui-dist` package installed with the control plane, so the page works without internet.',
    `- **\`GET ${API_BASE}/openapi.json\`**: the OpenAPI 3.1 document the page renders. Feed it to any`,
    '  OpenAPI tool to generate a client.',
    '',
    '**Who may call.** Devices use HTTP Basic (device id and the secret from enrollment). People and',
    'scripts use the admin token as a Bearer token, or a dashboard sign-in cookie with the role',
    '`viewer`, `operator` or `admin` ([dashboard guide](../guides/dashboard.md#signing-in-and-roles)).',
    'Roles are ordered: `viewer+` means any signed-in person or the admin token, `operator+` excludes',
    'viewers. Changes made with a cookie also need the header `X-Edgeloop-Dashboard: 1`. Admin-token',
    'callers name themselves in `X-Edgeloop-Actor`; labels, versions and promotions record it.',
    '',
    '**Errors** are always `{"error": {"code", "message", "details"}}` with a stable `code`',
    '([protocol.md §5](../protocol.md#5-error-codes-sharedsrcerrorsts)). A path parameter that does not',
    'parse names nothing, so it answers 404; a bad query or body answers 400; a body over the limit',
    'below is refused with 413 while it streams, before it is buffered.',
    '',
  ];
  for (const tag of tags) {
    lines.push(
      `## ${tag}`,
      '',
      '| operation | method and path | who may call | body (limit) | answers |',
      '|---|---|---|---|---|',
    );
    for (const r of routes.filter((x) => x.tag === tag)) {
      const b = body(r);
      lines.push(
        `| \`${r.id}\`: ${r.summary} | \`${r.method} ${r.path}\` | ${who(r)} | ${b === '–' ? '–' : `${b} (${limit(r)})`} | ${answers(r)} |`,
      );
    }
    lines.push('');
  }
  lines.push(...rightsTable(routes));
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * The table of rights (docs/security.md#roles-and-rights links here): one row per route, one
 * column per caller, from each route's `access` (test/integration/control-plane/route-rights.test.ts
 * calls every route as every caller and checks the server agrees).
 */
function rightsTable(routes: readonly RouteDef[]): string[] {
  const callers = ['viewer', 'operator', 'admin', 'device'] as const;
  const mark = (ok: boolean) => (ok ? 'yes' : '–');
  return [
    '## Rights by role',
    '',
    'Who may call each route (admin token = `admin`; `anyone` routes need no credentials).',
    '',
    '| operation | viewer | operator | admin | device |',
    '|---|---|---|---|---|',
    ...[...routes]
      .sort((a, b) => a.tag.localeCompare(b.tag) || a.id.localeCompare(b.id))
      .map((r) =>
        r.access.length === 0
          ? `| \`${r.id}\` | anyone | anyone | anyone | anyone |`
          : `| \`${r.id}\` | ${callers.map((c) => mark(mayCall(r, c))).join(' | ')} |`,
      ),
    '',
  ];
}
