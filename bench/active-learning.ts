/**
 * Active-learning benchmark on real photos: does the labelling queue's order save labels compared
 * with labelling random frames?
 *
 *   npx edgeloop bench active-learning --data ../shared/data/clothing-small --json [--cache emb.json]
 *     [--seeds 10] [--seed 1] [--orders margin,margin-diverse-wide,…] [--head gd|trainer]
 *
 * `--seed S` runs seeds S…S+N−1 (and draws which training photos make the stream from S), so
 * `--seed 11` checks a result on seeds nobody tuned against.
 *
 * Simulation. Frames are embedded once by the pretrained MobileNet V1 0.25 (frozen; the classifier
 * on top is what each round retrains, as a fine-tuned head would be). Each seed starts from its own
 * small labelled subset (`--initial-per-class`), lets the rest of the training photos stream past
 * the current model (which reports top-3, as the agent does by default), and spends the same
 * labelling budget per round with each queue order (orderLabelQueue itself) and with random frames.
 * After each round the head is retrained on everything labelled so far and measured on the
 * held-out validation photos; curves are averaged over `--seeds` seeds. `--head` picks that
 * classifier (active-learning/heads.ts): `gd`, the regression every figure so far was measured on,
 * or `trainer`, the head `edgeloop train` itself fits on this few photos. The savings depend on it
 * (docs/benchmarks.md), so the output names it.
 *
 * Prints {"queueOrder","rounds":[{"labels","accQueue","accRandom"}…],"labelSavings","orders",…}:
 * labelSavings is the share of labels the default order saves to reach random sampling's final
 * accuracy (1 − labels needed / labels random used), linearly interpolated between rounds; `orders`
 * gives the same for every order compared.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compactEmbedding, createRng, type LabelledSample } from '@edgeloop/shared';
import {
  DEFAULT_QUEUE_ORDER,
  orderLabelQueue,
  QUEUE_ORDERS,
  type QueueOrder,
} from '../control-plane/src/labelling/label-queue.ts';
import { decodeResized } from '../trainer/src/data/image-decoder.ts';
import { loadLayersModelFromDisk } from '../trainer/src/output/checkpoint.ts';
import { loadTf } from '../trainer/src/tf/load-tf.ts';
import { argmax } from '../trainer/src/train/evaluate.ts';
import { type FitHead, HEADS, type Head, type HeadKind, headFitter } from './active-learning/heads.ts';

type Curve = { labels: number; acc: number }[];
type Spread = { meanOfSeeds: number; sd: number; min: number; max: number };

interface Item {
  path: string;
  label: number;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function listSplit(dir: string, classes: string[]): Promise<Item[]> {
  const items: Item[] = [];
  for (const [label, name] of classes.entries()) {
    for (const f of (await readdir(join(dir, name))).sort()) {
      if (/\.(jpe?g|png|webp)$/i.test(f)) items.push({ path: join(dir, name, f), label });
    }
  }
  return items;
}

/** Cache file format: the raw pooled features (older caches held them L2-normalised; re-embedded). */
const CACHE_FORMAT = 'pooled-raw-v1';

/** `--cache FILE` keeps embeddings between runs (the slow part on a CPU without native TensorFlow). */
async function embedCached(
  items: Item[],
  weights: string,
  cache: string | undefined,
  log: (s: string) => void,
): Promise<Float32Array[]> {
  let stored: Record<string, number[]> = {};
  if (cache) {
    const file = JSON.parse(await readFile(cache, 'utf8').catch(() => '{}')) as {
      format?: string;
      features?: Record<string, number[]>;
    };
    if (file.format === CACHE_FORMAT && file.features) stored = file.features;
  }
  const missing = items.filter((it) => !stored[it.path]);
  if (missing.length > 0) {
    const fresh = await embed(missing, weights, log);
    missing.forEach((it, i) => {
      stored[it.path] = Array.from(fresh[i]);
    });
    if (cache) await writeFile(cache, JSON.stringify({ format: CACHE_FORMAT, features: stored }));
  }
  return items.map((it) => Float32Array.from(stored[it.path]));
}

/** Global-average-pooled MobileNet features as the model's `features` output gives them. */
async function embed(items: Item[], weights: string, log: (s: string) => void): Promise<Float32Array[]> {
  const { tf } = await loadTf();
  const full = await loadLayersModelFromDisk(tf, weights);
  const pool = full.layers.find((l) => l.name.startsWith('global_average_pooling'));
  if (!pool) throw new Error(`${weights}: no global_average_pooling layer`);
  const extractor = tf.model({ inputs: full.inputs, outputs: pool.output as never });
  const size = (full.inputs[0].shape[1] as number | null) ?? 224;
  const out: Float32Array[] = [];
  const batch = 16;
  const started = Date.now();
  for (let i = 0; i < items.length; i += batch) {
    const chunk = items.slice(i, i + batch);
    const pixels = await Promise.all(
      chunk.map((it) => decodeResized(it.path, { width: size, height: size })),
    );
    const features = tf.tidy(() => {
      const x = tf.stack(pixels.map((p) => tf.tensor3d(p.data, [size, size, 3], 'int32')));
      // Keras MobileNet preprocessing: [0, 255] → [-1, 1].
      return extractor.predict(x.toFloat().div(127.5).sub(1)) as ReturnType<typeof tf.zeros>;
    });
    const data = (await features.data()) as Float32Array;
    features.dispose();
    const dim = data.length / chunk.length;
    for (let k = 0; k < chunk.length; k++) out.push(data.slice(k * dim, (k + 1) * dim));
    if ((i / batch) % 20 === 0)
      log(
        `embedded ${Math.min(i + batch, items.length)}/${items.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
  }
  return out;
}

/** The top `k` classes as a device reports them (the agent's default topK is 3). */
function topK(p: Float64Array, classes: string[], k: number) {
  return [...p]
    .map((confidence, c) => ({ label: classes[c], confidence }))
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, k);
}

function accuracy(head: Head, x: Float32Array[], y: number[]): number {
  const probs = head.probs(x);
  return probs.filter((p, i) => argmax(p) === y[i]).length / x.length;
}

/** The labelling queue's pick from the unlabelled stream: its own ordering function. */
function queuePick(
  order: QueueOrder,
  head: Head,
  stream: number[],
  features: Float32Array[],
  embeddings: number[][],
  classes: string[],
  budget: number,
  labelled: number[],
): number[] {
  const probs = head.probs(stream.map((idx) => features[idx]));
  const pool = stream.map((idx, i) => {
    const top = topK(probs[i], classes, 3);
    return {
      embedding: embeddings[idx],
      sampleId: String(idx),
      deviceId: 'cam-1',
      preLabel: top[0].label,
      confidence: top[0].confidence,
      topK: top,
      skippedAt: null,
    };
  }) as unknown as LabelledSample[];
  // What the control plane passes: the embeddings of the frames labelled so far.
  const known = labelled.map((idx) => embeddings[idx]);
  return orderLabelQueue(pool, budget, order, known).map((s) => Number(s.sampleId));
}

async function simulate(
  policy: QueueOrder | 'random',
  seed: number,
  data: {
    features: Float32Array[];
    embeddings: number[][];
    labels: number[];
    initial: number[];
    stream: number[];
    valX: Float32Array[];
    valY: number[];
  },
  fitHead: FitHead,
  classes: string[],
  budget: number,
  rounds: number,
): Promise<{ labels: number; acc: number }[]> {
  const random = createRng(seed);
  const labelled = [...data.initial];
  let stream = shuffle(data.stream, random);
  const retrain = () =>
    fitHead(
      labelled.map((i) => data.features[i]),
      labelled.map((i) => data.labels[i]),
      seed,
    );
  let head = await retrain();
  const out = [{ labels: labelled.length, acc: accuracy(head, data.valX, data.valY) }];
  for (let r = 0; r < rounds; r++) {
    const picked =
      policy === 'random'
        ? stream.slice(0, budget)
        : queuePick(policy, head, stream, data.features, data.embeddings, classes, budget, labelled);
    const chosen = new Set(picked);
    labelled.push(...picked);
    stream = stream.filter((i) => !chosen.has(i));
    head.dispose();
    head = await retrain();
    out.push({ labels: labelled.length, acc: accuracy(head, data.valX, data.valY) });
  }
  head.dispose();
  return out;
}

/** Labels uncertainty needed to reach `target` accuracy, interpolated between rounds (null: never). */
function labelsToReach(curve: { labels: number; acc: number }[], target: number): number | null {
  if (curve[0].acc >= target) return curve[0].labels;
  for (let i = 1; i < curve.length; i++) {
    if (curve[i].acc >= target) {
      const [a, b] = [curve[i - 1], curve[i]];
      return a.labels + ((target - a.acc) / (b.acc - a.acc)) * (b.labels - a.labels);
    }
  }
  return null;
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      weights: { type: 'string' },
      'initial-per-class': { type: 'string', default: '2' },
      budget: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '8' },
      stream: { type: 'string', default: '1200' },
      seeds: { type: 'string', default: '10' },
      orders: { type: 'string' },
      seed: { type: 'string', default: '1' },
      cache: { type: 'string' },
      head: { type: 'string', default: 'gd' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.data) {
    process.stderr.write(
      'usage: edgeloop bench active-learning --data DIR [--weights model.json] [--head gd|trainer] [--json]\n',
    );
    return 2;
  }
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const dataDir = resolve(values.data);
  const weights = values.weights ?? join(dataDir, '..', 'mobilenet_v1_0.25_224', 'model.json');
  const classes = (await readdir(join(dataDir, 'train'), { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const seed = Number(values.seed);
  const random = createRng(seed);
  const train = shuffle(await listSplit(join(dataDir, 'train'), classes), random).slice(
    0,
    Number(values.stream) + classes.length * Number(values['initial-per-class']),
  );
  const validation = await listSplit(join(dataDir, 'validation'), classes);
  const started = Date.now();
  const features = await embedCached(train, weights, values.cache, log);
  const valX = await embedCached(validation, weights, values.cache, log);
  const embedSeconds = (Date.now() - started) / 1000;
  // What a device sends with a sample: the pooled layer the trainer exports as the model's
  // `features` output (export-onnx.ts), compacted as the agent does.
  const embeddings = features.map((f) => compactEmbedding(f));

  const labels = train.map((t) => t.label);
  const initialPerClass = Number(values['initial-per-class']);
  const valY = validation.map((v) => v.label);
  const budget = Number(values.budget);
  const rounds = Number(values.rounds);
  const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => seed + i);
  // Each seed draws its own starting labels (and random's own stream order): the figure is the
  // mean over seeds, not one lucky start.
  const headKind = values.head as HeadKind;
  if (!HEADS.includes(headKind)) {
    process.stderr.write(`--head: one of ${HEADS.join(', ')}\n`);
    return 2;
  }
  const { tf } = await loadTf();
  let fitHead: FitHead;
  try {
    fitHead = headFitter(headKind, tf, classes.length, classes.length * initialPerClass + rounds * budget);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const runsFor = async (policy: QueueOrder | 'random') => {
    const runs: Curve[] = [];
    for (const s of seeds) {
      const order = shuffle(
        train.map((_, i) => i),
        createRng(s * 7919),
      );
      const initial: number[] = [];
      for (let c = 0; c < classes.length; c++)
        initial.push(...order.filter((i) => labels[i] === c).slice(0, initialPerClass));
      const initialSet = new Set(initial);
      const data = {
        features,
        embeddings,
        labels,
        initial,
        stream: order.filter((i) => !initialSet.has(i)),
        valX,
        valY,
      };
      runs.push(await simulate(policy, s + 100, data, fitHead, classes, budget, rounds));
      log(`${policy}: seed ${s} done`);
    }
    return runs;
  };
  const mean = (runs: Curve[]) =>
    runs[0].map((point, r) => ({
      labels: point.labels,
      acc: runs.reduce((sum, run) => sum + run[r].acc, 0) / runs.length,
    }));
  const randomRuns = await runsFor('random');
  const rnd = mean(randomRuns);
  const finalRandom = rnd[rnd.length - 1];
  const savings = (curve: Curve, target: Curve[number]) => {
    const needed = labelsToReach(curve, target.acc);
    return needed === null ? 0 : 1 - needed / target.labels;
  };
  const orders = (values.orders ? values.orders.split(',') : [...QUEUE_ORDERS]) as QueueOrder[];
  const byOrder: Record<
    string,
    { curve: Curve; needed: number | null; labelSavings: number; spread: Spread }
  > = {};
  for (const order of orders) {
    const runs = await runsFor(order);
    const curve = mean(runs);
    // The spread: each seed's own savings against random's final accuracy on the same seed.
    const perSeed = runs.map((run, i) => savings(run, randomRuns[i][randomRuns[i].length - 1]));
    const avg = perSeed.reduce((a, b) => a + b, 0) / perSeed.length;
    const sd = Math.sqrt(perSeed.reduce((a, b) => a + (b - avg) ** 2, 0) / perSeed.length);
    const spread = {
      meanOfSeeds: Number(avg.toFixed(4)),
      sd: Number(sd.toFixed(4)),
      min: Number(Math.min(...perSeed).toFixed(4)),
      max: Number(Math.max(...perSeed).toFixed(4)),
    };
    const needed = labelsToReach(curve, finalRandom.acc);
    log(`${order}: labels to reach random's final accuracy ${needed?.toFixed(0) ?? 'never'}`);
    byOrder[order] = {
      curve,
      needed,
      labelSavings: Number(savings(curve, finalRandom).toFixed(4)),
      spread,
    };
  }
  const main = byOrder[DEFAULT_QUEUE_ORDER] ?? byOrder[orders[0]];
  const result = {
    queueOrder: byOrder[DEFAULT_QUEUE_ORDER] ? DEFAULT_QUEUE_ORDER : orders[0],
    head: headKind,
    rounds: main.curve.map((u, r) => ({
      labels: u.labels,
      accQueue: Number(u.acc.toFixed(4)),
      accRandom: Number(rnd[r].acc.toFixed(4)),
    })),
    labelSavings: main.labelSavings,
    labelSavingsPerSeed: main.spread,
    labelsQueueNeeded: main.needed === null ? null : Math.round(main.needed),
    labelsRandomUsed: finalRandom.labels,
    orders: Object.fromEntries(
      Object.entries(byOrder).map(([order, o]) => [
        order,
        {
          labelSavings: o.labelSavings,
          perSeed: o.spread,
          finalAccuracy: Number(o.curve[o.curve.length - 1].acc.toFixed(4)),
        },
      ]),
    ),
    target: 0.6,
    classes: classes.length,
    streamImages: train.length - classes.length * initialPerClass,
    validationImages: validation.length,
    budgetPerRound: budget,
    seeds: seeds.length,
    firstSeed: seed,
    embedSeconds: Number(embedSeconds.toFixed(1)),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
