/**
 * The OpenAPI 3.1 document of the control plane's API, generated from the contract. The only
 * importer of zod-openapi (zod → JSON Schema through zod's own converter).
 */
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import { ErrorCodes } from '../errors.ts';
import { ErrorBodySchema } from '../schemas/http.ts';
import { apiRoutes } from './contract.ts';
import { API_BASE, type Caller, type RouteDef } from './route.ts';

const SECURITY: Record<'device' | 'admin' | 'session', string> = {
  device: 'deviceBasic',
  admin: 'adminBearer',
  session: 'dashboardCookie',
};

function securityOf(route: RouteDef): Record<string, string[]>[] {
  if (route.access.length === 0) return [];
  const out: Record<string, string[]>[] = [];
  if (route.access.includes('device')) out.push({ [SECURITY.device]: [] });
  if (route.access.some((a: Caller) => a !== 'device')) {
    out.push({ [SECURITY.admin]: [] }, { [SECURITY.session]: [] });
  }
  return out;
}

function whoMayCall(route: RouteDef): string {
  if (route.access.length === 0) return 'Anyone.';
  const parts: string[] = [];
  if (route.access.includes('device')) parts.push('a device (its own credentials)');
  const roles = route.access.filter((a) => a !== 'device');
  if (roles.length > 0) parts.push(`the admin token or a dashboard ${roles.join('/')} or above`);
  return `Who may call: ${parts.join('; ')}.`;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorBodySchema } },
});

function operation(route: RouteDef): ZodOpenApiOperationObject {
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    if (spec.type === 'json') {
      responses[status] = {
        description: spec.description,
        content: { 'application/json': { schema: spec.schema } },
      };
    } else if (spec.type === 'binary') {
      responses[status] = {
        description: spec.description,
        content: { [spec.contentType]: { schema: { type: 'string', format: 'binary' } } },
      };
    } else if (spec.type === 'redirect') {
      responses[status] = {
        description: spec.description,
        headers: { Location: { description: 'where to fetch the bytes', schema: { type: 'string' } } },
      };
    } else {
      responses[status] = {
        description: spec.description,
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      };
    }
  }
  if (route.params || route.query || route.body)
    responses['400'] = errorResponse('invalid input (VALIDATION_FAILED)');
  if (route.access.length > 0) {
    responses['401'] = errorResponse('missing or invalid credentials (UNAUTHORIZED)');
    responses['403'] = errorResponse('the caller may not do this (FORBIDDEN)');
  }
  if (route.params) responses['404'] = errorResponse('not found (NOT_FOUND)');
  if (route.body) responses['413'] = errorResponse('body too large (PAYLOAD_TOO_LARGE)');
  if (Object.values(route.responses).some((r) => r.type === 'binary') && route.responses[206]) {
    responses['416'] = { description: 'the requested range starts past the end of the file' };
  }
  const op: ZodOpenApiOperationObject = {
    operationId: route.id,
    summary: route.summary,
    description: [route.description, whoMayCall(route)].filter(Boolean).join('\n\n'),
    tags: [route.tag],
    security: securityOf(route),
    responses: responses as ZodOpenApiOperationObject['responses'],
  };
  if (route.params || route.query) {
    op.requestParams = {
      ...(route.params && { path: route.params }),
      ...(route.query && { query: route.query }),
    };
  }
  if (route.body) {
    const type = route.body.type === 'json' ? 'application/json' : 'multipart/form-data';
    op.requestBody = { required: true, content: { [type]: { schema: route.body.schema } } };
  }
  return op;
}

export function createOpenApiDocument(options: {
  version: string;
  serverUrl?: string;
}): Record<string, unknown> {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of Object.values(apiRoutes) as RouteDef[]) {
    const path = API_BASE + route.path;
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'edgeloop control plane',
      version: options.version,
      description: [
        'Enrollment, model registry, rollouts, samples, labelling, datasets and the retraining pipeline.',
        'Errors always answer `{"error": {"code", "message", "details"}}`; codes and their statuses: ' +
          Object.entries(ErrorCodes)
            .map(([code, status]) => `${code} ${status}`)
            .join(', ') +
          '.',
      ].join('\n\n'),
    },
    ...(options.serverUrl && { servers: [{ url: options.serverUrl }] }),
    paths,
    components: {
      securitySchemes: {
        [SECURITY.device]: {
          type: 'http',
          scheme: 'basic',
          description: "A device's id and secret from enrollment (RFC 7617).",
        },
        [SECURITY.admin]: {
          type: 'http',
          scheme: 'bearer',
          description:
            "The control plane's admin token (dataDir/admin-token). Name yourself in X-Edgeloop-Actor.",
        },
        [SECURITY.session]: {
          type: 'apiKey',
          in: 'cookie',
          name: 'edgeloop_session',
          description: 'A dashboard sign-in; changes also need the header x-edgeloop-dashboard: 1.',
        },
      },
    },
  }) as unknown as Record<string, unknown>;
}
