import { readFileSync } from 'node:fs';
import { apiRoutes } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { httpApiReferenceMarkdown } from '../../../cli/docs/http-api-reference.ts';

const referencePath = new URL('../../../docs/reference/http-api.md', import.meta.url);

describe('HTTP API reference', () => {
  it('docs/reference/http-api.md matches the API contract (run `npm run docs:api`)', () => {
    const text = readFileSync(referencePath, 'utf8');
    expect(text).toBe(httpApiReferenceMarkdown());
    for (const id of Object.keys(apiRoutes)) expect(text).toContain(`\`${id}\``);
  });
});
