/**
 * Interactive API docs at /docs: Swagger UI from the swagger-ui-dist package installed with the
 * control plane (no CDN, so it works on a site without internet), pointed at the generated
 * OpenAPI document. The only importer of swagger-ui-dist.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { apiRoutes, NotFoundError, routeUrl } from '@edgeloop/shared';
import { Hono } from 'hono';
import type { AppEnv } from '../http/env.ts';

const DIST = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
/** Only what the page loads; nothing else of the package is served. */
const FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  // Swagger UI sets inline styles and renders data: images; everything else is our own origin.
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

function page(): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>edgeloop API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>
`;
}

function initScript(): string {
  // validatorUrl null: Swagger UI would otherwise send the document to an online validator.
  return `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(routeUrl(apiRoutes.getOpenApi))},
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  docExpansion: 'list',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;
}

export function apiDocsRoutes() {
  return new Hono<AppEnv>()
    .get('/docs', (c) => c.redirect('/docs/'))
    .get('/docs/', (c) => c.body(page(), 200, { ...HEADERS, 'Content-Type': 'text/html; charset=utf-8' }))
    .get('/docs/assets/init.js', (c) =>
      c.body(initScript(), 200, { ...HEADERS, 'Content-Type': 'text/javascript; charset=utf-8' }),
    )
    .get('/docs/assets/:name', async (c) => {
      const name = c.req.param('name');
      const type = FILES[name];
      if (!type) throw new NotFoundError(`no docs asset '${name}'`);
      const bytes = await readFile(join(DIST, name));
      return c.body(new Uint8Array(bytes), 200, { ...HEADERS, 'Content-Type': type });
    });
}
