/** `edgeloop label`: the labelling queue from a terminal — list, confirm, correct, none, skip. */
import { writeFile } from 'node:fs/promises';
import { type LabelledSample, ValidationError } from '@edgeloop/shared';
import { LOOP_OPTIONS, loopClient } from '../options/connection-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { print } from '../output/print-result.ts';

const options = {
  ...LOOP_OPTIONS,
  limit: {
    type: 'number',
    value: 'N',
    integer: true,
    min: 1,
    default: 20,
    description: 'queue: how many samples',
  },
  out: { type: 'string', value: 'FILE', description: "image: where to save the sample's image" },
  'new-class': {
    type: 'boolean',
    default: false,
    description: 'correct: add LABEL as a class the project lacks',
  },
} as const satisfies OptionDefs;

export const labelCommand = defineCommand({
  name: 'label',
  summary: 'labelling queue: list, confirm (bulk), correct, none of the classes, skip',
  usage: 'edgeloop label <subcommand> [options]',
  subcommands: [
    {
      usage: 'queue [--limit N]',
      summary: 'the most useful unlabelled samples first (device prediction = pre-label)',
    },
    { usage: 'image SAMPLE --out FILE', summary: "save a sample's image to look at it" },
    { usage: 'confirm SAMPLE...', summary: "accept the device's prediction (several ids: bulk confirm)" },
    {
      usage: 'correct SAMPLE LABEL [--new-class]',
      summary: 'set the right class (--new-class adds a class the project lacks)',
    },
    { usage: 'none SAMPLE', summary: 'no class fits this image (it is never trained on)' },
    { usage: 'skip SAMPLE', summary: 'decide later (moves it behind every unskipped sample)' },
  ],
  options,
  run: (args): Promise<number> => label(args),
});

function line(s: LabelledSample): string {
  const top = s.topK
    .slice(0, 3)
    .map((k) => `${k.label} ${(k.confidence * 100).toFixed(0)}%`)
    .join(', ');
  return `${s.sampleId}  ${s.deviceId.padEnd(12)} ${(s.preLabel ?? '-').padEnd(12)} [${top}]${s.skippedAt ? ' (skipped)' : ''}`;
}

async function label({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  const [sub, ...rest] = positionals;
  const client = loopClient(values);
  const one = () => {
    if (rest.length < 1) throw new ValidationError(`label ${sub} needs a SAMPLE id`);
    return rest[0];
  };
  switch (sub) {
    case 'queue': {
      const queue = await client.labelQueue(values.limit);
      print(values.json, queue, () =>
        [`${queue.total} unlabelled; most useful first:`, ...queue.samples.map(line)].join('\n'),
      );
      return 0;
    }
    case 'image': {
      if (!values.out) throw new ValidationError('label image needs --out FILE');
      const { bytes, contentType } = await client.sampleImage(one());
      await writeFile(values.out, bytes);
      print(values.json, { out: values.out, contentType }, () => `wrote ${values.out} (${contentType})`);
      return 0;
    }
    case 'confirm': {
      if (rest.length === 0) throw new ValidationError('label confirm needs at least one SAMPLE id');
      const result = await client.bulkConfirm(rest);
      print(values.json, result, () =>
        [
          `confirmed ${result.confirmed.length}`,
          ...result.skipped.map((s) => `  skipped ${s.sampleId}: ${s.reason}`),
        ].join('\n'),
      );
      return result.skipped.length > 0 ? 1 : 0;
    }
    case 'correct': {
      if (rest.length !== 2) throw new ValidationError('label correct needs SAMPLE and LABEL');
      const sample = await client.labelAction(rest[0], {
        action: 'correct',
        label: rest[1],
        newClass: values['new-class'],
      });
      print(values.json, sample, () => `${sample.sampleId}: ${sample.label} (${sample.labelStatus})`);
      return 0;
    }
    case 'none':
    case 'skip': {
      const sample = await client.labelAction(one(), { action: sub });
      print(
        values.json,
        sample,
        () => `${sample.sampleId}: ${sub === 'skip' ? 'skipped' : 'none of the classes'}`,
      );
      return 0;
    }
    default:
      throw new ValidationError(`unknown label subcommand '${sub}'`);
  }
}
