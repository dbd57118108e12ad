/**
 * `edgeloop dataset`: import images into a dataset, snapshot a dataset version, export a version
 * as the folder-per-class layout `edgeloop train --data` reads.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  ClassNameSchema,
  type DatasetImportResult,
  DatasetImportSchema,
  EdgeloopError,
  type LoopApiClient,
  parseWith,
  sha256Hex,
  toEdgeloopError,
  ValidationError,
  writeFileAtomic,
} from '@edgeloop/shared';
import { LOOP_OPTIONS, loopClient } from '../options/connection-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { print } from '../output/print-result.ts';

const options = {
  ...LOOP_OPTIONS,
  folder: { type: 'string', value: 'DIR', description: 'import: upload DIR/<class>/<image> files' },
  prefix: {
    type: 'string',
    value: 'P',
    description: "import: <P>/<class>/<image> objects from the control plane's object store (folder or S3)",
  },
  urls: {
    type: 'string',
    value: 'FILE',
    description: 'import: from URLs; FILE has one "label,url" per line (or a JSON [{url,label}] array)',
  },
  base: { type: 'string', value: 'NAME', description: 'version: the base dataset', defaultText: 'base' },
  until: {
    type: 'string',
    value: 'ISO-TIME',
    description: 'version: only samples labelled before this time',
  },
  out: { type: 'string', value: 'DIR', description: 'export: the folder to write' },
} as const satisfies OptionDefs;

export const datasetCommand = defineCommand({
  name: 'dataset',
  summary: 'import images into datasets, snapshot dataset versions, export one for training',
  usage: 'edgeloop dataset <subcommand> [options]',
  subcommands: [
    { usage: 'import NAME --folder DIR', summary: 'upload DIR/<class>/<image> files into dataset NAME' },
    {
      usage: 'import NAME --prefix P',
      summary: "import <P>/<class>/<image> objects from the control plane's object store (folder or S3)",
    },
    {
      usage: 'import NAME --urls FILE',
      summary: 'import from URLs; FILE has one "label,url" per line (or a JSON [{url,label}] array)',
    },
    {
      usage: 'version [--base NAME] [--until ISO-TIME]',
      summary: 'snapshot base dataset (default "base") + labelled samples + the "eval" set',
    },
    { usage: 'versions', summary: 'list dataset versions' },
    {
      usage: 'export VERSION --out DIR',
      summary: 'write DIR/<split>/<class>/<sha256>.<ext> (splits: train, validation, field-hard)',
    },
  ],
  options,
  notes: 'Dataset "eval" is the project\'s fixed evaluation set. Deduplication is by image content (sha256).',
  run: (args): Promise<number> => dataset(args),
});

const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp)$/i;
const EXTENSION_OF: Record<string, string> = {
  'image/png': 'png',
  'image/webp': 'webp',
  'image/jpeg': 'jpg',
};

/** Uploads DIR/<class>/<image> into a dataset, a few at a time (also the demo's studio import). */
export async function importFolder(
  client: LoopApiClient,
  dataset: string,
  dir: string,
): Promise<DatasetImportResult> {
  const result: DatasetImportResult = { added: 0, duplicates: 0, failed: [] };
  const files: { path: string; label: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const label = entry.name;
    for (const file of await readdir(join(dir, label), { withFileTypes: true })) {
      if (file.isFile() && IMAGE_EXTENSIONS.test(file.name))
        files.push({ path: join(dir, label, file.name), label });
    }
  }
  if (files.length === 0) throw new EdgeloopError('DATASET_INVALID', `no ${dir}/<class>/<image> files found`);
  // A few uploads in flight keep the link busy without flooding the control plane.
  let next = 0;
  async function worker() {
    while (next < files.length) {
      const { path, label } = files[next++];
      const source = `folder:${relative(dir, path)}`;
      try {
        parseWith(ClassNameSchema, label, `class folder name '${label}'`);
        const res = await client.addDatasetImage(
          dataset,
          label,
          new Uint8Array(await readFile(path)),
          source,
        );
        if (res.duplicate) result.duplicates++;
        else result.added++;
      } catch (err) {
        const e = toEdgeloopError(err);
        if (e.code === 'UPSTREAM_FAILED' || e.code === 'UNAUTHORIZED') throw e;
        result.failed.push({ source, reason: `${e.code}: ${e.message}` });
      }
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker));
  return result;
}

async function readUrlList(file: string) {
  const text = await readFile(file, 'utf8');
  if (text.trimStart().startsWith('[')) {
    return parseWith(
      DatasetImportSchema.shape.source.options[1].shape.items,
      JSON.parse(text),
      `URL list ${file}`,
    );
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const comma = line.indexOf(',');
      if (comma <= 0) throw new ValidationError(`URL list ${file}: expected "label,url", got '${line}'`);
      return { label: line.slice(0, comma).trim(), url: line.slice(comma + 1).trim() };
    });
}

export async function exportVersion(client: LoopApiClient, id: string, out: string) {
  const { version, entries } = await client.datasetVersion(id);
  for (const entry of entries) {
    // Labels become folder names: refuse anything that is not a plain class name.
    parseWith(ClassNameSchema, entry.label, `label of ${entry.sha256}`);
    const bytes = await client.datasetVersionImage(version.id, entry.sha256);
    if (sha256Hex(bytes) !== entry.sha256) {
      throw new EdgeloopError(
        'CHECKSUM_MISMATCH',
        `image ${entry.sha256} of ${version.id} does not match its hash`,
      );
    }
    const folder = join(out, entry.split, entry.label);
    await mkdir(folder, { recursive: true });
    await writeFileAtomic(join(folder, `${entry.sha256}.${EXTENSION_OF[entry.contentType] ?? 'jpg'}`), bytes);
  }
  await writeFileAtomic(
    join(out, 'dataset-version.json'),
    `${JSON.stringify({ version, entries }, null, 2)}\n`,
  );
  return { version, images: entries.length };
}

async function dataset({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  const [sub, arg] = positionals;
  const client = loopClient(values);
  switch (sub) {
    case 'import': {
      if (!arg) throw new ValidationError('dataset import needs a dataset NAME');
      const sources = [values.folder, values.prefix, values.urls].filter((v) => v !== undefined);
      if (sources.length !== 1) throw new ValidationError('give exactly one of --folder, --prefix, --urls');
      const result = values.folder
        ? await importFolder(client, arg, values.folder)
        : values.prefix !== undefined
          ? await client.importDataset(arg, { kind: 'object-store', prefix: values.prefix })
          : await client.importDataset(arg, { kind: 'urls', items: await readUrlList(values.urls!) });
      print(values.json, result, () =>
        [
          `dataset ${arg}: ${result.added} added, ${result.duplicates} already there, ${result.failed.length} failed`,
          ...result.failed.map((f) => `  ${f.source}: ${f.reason}`),
        ].join('\n'),
      );
      return result.failed.length > 0 ? 1 : 0;
    }
    case 'version': {
      const version = await client.createDatasetVersion({ base: values.base, until: values.until });
      print(
        values.json,
        version,
        () =>
          `${version.id}  train ${version.counts.train ?? 0}, validation ${version.counts.validation ?? 0}, field-hard ${version.counts['field-hard'] ?? 0}; classes ${version.classes.join(', ')}`,
      );
      return 0;
    }
    case 'versions': {
      const versions = await client.listDatasetVersions();
      print(values.json, versions, () =>
        versions
          .map((v) => `${v.id}  ${v.cutoff}  base=${v.base}  train=${v.counts.train ?? 0} by ${v.createdBy}`)
          .join('\n'),
      );
      return 0;
    }
    case 'export': {
      if (!arg || !values.out) throw new ValidationError('dataset export needs VERSION and --out DIR');
      const result = await exportVersion(client, arg, values.out);
      print(
        values.json,
        { id: result.version.id, images: result.images, out: values.out },
        () =>
          `exported ${result.images} images of ${result.version.id} to ${values.out} (train with: edgeloop train --data ${values.out})`,
      );
      return 0;
    }
    default:
      throw new ValidationError(`unknown dataset subcommand '${sub}'`);
  }
}
