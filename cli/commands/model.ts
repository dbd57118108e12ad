/** `edgeloop model`: registry aliases, side-by-side comparison, promotion and details. */
import { type ModelComparison, ValidationError } from '@edgeloop/shared';
import { LOOP_OPTIONS, loopClient } from '../options/connection-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { print } from '../output/print-result.ts';

const options = {
  ...LOOP_OPTIONS,
  margin: {
    type: 'number',
    value: 'X',
    min: 0,
    max: 1,
    description: 'promote: how much better than production the candidate must be on the fixed set',
  },
  tolerance: {
    type: 'number',
    value: 'X',
    min: 0,
    max: 1,
    description: "promote: the largest drop of any class's recall allowed",
  },
} as const satisfies OptionDefs;

export const modelCommand = defineCommand({
  name: 'model',
  summary: 'model registry: aliases, compare two versions, promote a candidate',
  usage: 'edgeloop model <subcommand> [options]',
  subcommands: [
    { usage: 'aliases', summary: 'list aliases (production, candidate, your own names)' },
    { usage: 'alias NAME VERSION', summary: 'point alias NAME at a model version' },
    { usage: 'show REF', summary: 'lineage, aliases and promotion history of a version or alias' },
    { usage: 'compare A B', summary: 'per-class metrics and confusion matrices of two versions/aliases' },
    {
      usage: 'promote REF [--margin X] [--tolerance X]',
      summary:
        "promote REF to production if it beats production on the fixed set by the margin and no class's recall drops by more than the tolerance",
    },
  ],
  options,
  run: (args): Promise<number> => model(args),
});

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '   -  ' : `${(x * 100).toFixed(1).padStart(5)}%`;

export function formatComparison(c: ModelComparison): string {
  const width = Math.max(5, ...c.perClass.map((p) => p.label.length));
  const lines = [
    `accuracy on the fixed set: v${c.a} ${pct(c.accuracy.a)}  v${c.b} ${pct(c.accuracy.b)}  (${c.accuracy.delta >= 0 ? '+' : ''}${(c.accuracy.delta * 100).toFixed(1)} points)`,
    '',
    `${'class'.padEnd(width)}  recall v${c.a}  recall v${c.b}  change   precision v${c.a}  precision v${c.b}`,
    ...c.perClass.map(
      (p) =>
        `${p.label.padEnd(width)}  ${pct(p.a?.recall)}    ${pct(p.b?.recall)}    ${p.recallDelta === null ? '   -  ' : `${p.recallDelta >= 0 ? '+' : ''}${(p.recallDelta * 100).toFixed(1)}`.padStart(6)}   ${pct(p.a?.precision)}       ${pct(p.b?.precision)}`,
    ),
  ];
  for (const [name, m] of [
    [`v${c.a}`, c.confusion.a],
    [`v${c.b}`, c.confusion.b],
  ] as const) {
    lines.push('', `confusion ${name} (rows: true class, columns: predicted, order ${m.labels.join(', ')})`);
    for (const [i, row] of m.matrix.entries())
      lines.push(`  ${(m.labels[i] ?? '?').padEnd(width)} ${row.map((n) => String(n).padStart(5)).join('')}`);
  }
  return lines.join('\n');
}

async function model({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  const [sub, a, b] = positionals;
  const client = loopClient(values);
  switch (sub) {
    case 'aliases': {
      const aliases = await client.listAliases();
      print(values.json, aliases, () =>
        aliases.map((x) => `${x.alias} → v${x.modelVersion}  (${x.setBy}, ${x.setAt})`).join('\n'),
      );
      return 0;
    }
    case 'alias': {
      if (!a || !b || !/^\d+$/.test(b))
        throw new ValidationError('model alias needs NAME and a VERSION number');
      const alias = await client.setAlias(a, Number(b));
      print(values.json, alias, () => `${alias.alias} → v${alias.modelVersion}`);
      return 0;
    }
    case 'show': {
      if (!a) throw new ValidationError('model show needs a version or alias');
      const details = await client.modelDetails(a);
      print(values.json, details, () => JSON.stringify(details, null, 2));
      return 0;
    }
    case 'compare': {
      if (!a || !b) throw new ValidationError('model compare needs two versions or aliases');
      const comparison = await client.compareModels(a, b);
      print(values.json, comparison, () => formatComparison(comparison));
      return 0;
    }
    case 'promote': {
      if (!a) throw new ValidationError('model promote needs a version or alias');
      const decision = await client.promoteModel(a, {
        margin: values.margin,
        tolerance: values.tolerance,
      });
      print(
        values.json,
        decision,
        () => `v${decision.candidate} ${decision.promoted ? 'PROMOTED' : 'not promoted'}: ${decision.reason}`,
      );
      return decision.promoted ? 0 : 1;
    }
    default:
      throw new ValidationError(`unknown model subcommand '${sub}'`);
  }
}
