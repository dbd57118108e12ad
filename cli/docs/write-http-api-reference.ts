/** `npm run docs:api`: rewrites docs/reference/http-api.md from the API contract. */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpApiReferenceMarkdown } from './http-api-reference.ts';

const target = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'reference', 'http-api.md');
writeFileSync(target, httpApiReferenceMarkdown());
console.log(`wrote ${target}`);
