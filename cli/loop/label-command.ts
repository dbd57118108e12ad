/** `edgeloop label`: the labelling queue from a terminal — list, confirm, correct, none, skip. */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type LabelledSample, ValidationError } from '@edgeloop/shared';
import { CLIENT_HELP, CLIENT_OPTIONS, loopClient, print } from './loop-client.ts';

const HELP = `Usage: edgeloop label <subcommand> [options]

  queue [--limit N]              the most useful unlabelled samples first (device prediction = pre-label)
  image SAMPLE --out FILE        save a sample's image to look at it
  confirm SAMPLE...              accept the device's prediction (several ids: bulk confirm)
  correct SAMPLE LABEL [--new-class]
                                 set the right class (--new-class adds a class the project lacks)
  none SAMPLE                    no class fits this image (it is never trained on)
  skip SAMPLE                    decide later (moves it behind every unskipped sample)

${CLIENT_HELP}
`;

function line(s: LabelledSample): string {
  const top = s.topK
    .slice(0, 3)
    .map((k) => `${k.label} ${(k.confidence * 100).toFixed(0)}%`)
    .join(', ');
  return `${s.sampleId}  ${s.deviceId.padEnd(12)} ${(s.preLabel ?? '-').padEnd(12)} [${top}]${s.skippedAt ? ' (skipped)' : ''}`;
}

export async function labelCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CLIENT_OPTIONS,
      limit: { type: 'string', default: '20' },
      out: { type: 'string' },
      'new-class': { type: 'boolean', default: false },
    },
  });
  const [sub, ...rest] = positionals;
  if (values.help || !sub) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const client = loopClient(values);
  const one = () => {
    if (rest.length < 1) throw new ValidationError(`label ${sub} needs a SAMPLE id`);
    return rest[0];
  };
  switch (sub) {
    case 'queue': {
      const queue = await client.labelQueue(Number(values.limit));
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
