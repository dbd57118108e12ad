/** `npm run docs:config`: rewrites docs/reference/configuration.md from the config schemas. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configReferenceMarkdown } from './config-reference.ts';

const target = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'docs',
  'reference',
  'configuration.md',
);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, configReferenceMarkdown());
console.log(`wrote ${target}`);
