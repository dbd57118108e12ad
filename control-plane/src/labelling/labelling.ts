/**
 * Label actions on samples: confirm the device's prediction, correct it, mark "none of the
 * classes", skip for later, or bulk-confirm. Every action is stored with who did it and when.
 * A correction must name a class the project knows unless the labeller asks to add a new one, so
 * a typo cannot silently create a class.
 */
import { type LabelAction, NotFoundError, ValidationError } from '@edgeloop/shared';
import type { LabelledSampleRecord } from '../store/labelling-store.ts';
import type { Store } from '../store/store.ts';
import { orderLabelQueue } from './label-queue.ts';

/** How many candidates the queue draws from before interleaving (the least confident first). */
const QUEUE_POOL_FACTOR = 20;
/**
 * How many recent labelled frames the queue keeps its picks away from: bounds the comparisons to
 * candidates × 500 (a few hundred ms at the largest queue); older labels matter less anyway.
 */
const LABELLED_REFERENCE = 500;

export interface Labelling {
  queue(limit: number): Promise<{ samples: LabelledSampleRecord[]; total: number }>;
  act(sampleId: string, action: LabelAction, actor: string, now?: Date): Promise<LabelledSampleRecord>;
  /** The older free-form label call: any label is accepted and becomes a known class. */
  setLabel(sampleId: string, label: string, actor: string, now?: Date): Promise<LabelledSampleRecord>;
  bulkConfirm(
    sampleIds: readonly string[],
    actor: string,
    now?: Date,
  ): Promise<{ confirmed: string[]; skipped: { sampleId: string; reason: string }[] }>;
}

export function createLabelling(store: Store): Labelling {
  const labels = store.labelling;

  async function find(sampleId: string): Promise<LabelledSampleRecord> {
    const sample = await labels.getLabelled(sampleId);
    if (!sample) throw new NotFoundError(`sample '${sampleId}' not found`);
    return sample;
  }

  function statusFor(sample: LabelledSampleRecord, label: string) {
    return sample.preLabel === label ? ('confirmed' as const) : ('corrected' as const);
  }

  async function write(
    sample: LabelledSampleRecord,
    fields: {
      action: LabelAction['action'] | 'label';
      label: string | null;
      status: LabelledSampleRecord['labelStatus'];
    },
    actor: string,
    now: Date,
  ): Promise<LabelledSampleRecord> {
    return (await labels.apply({ sampleId: sample.sampleId, ...fields, actor, at: now.toISOString() }))!;
  }

  return {
    async queue(limit) {
      const pool = await labels.queuePool(limit * QUEUE_POOL_FACTOR);
      const labelled = await labels.labelledEmbeddings(LABELLED_REFERENCE);
      return {
        samples: orderLabelQueue(pool, limit, undefined, labelled),
        total: await labels.countUnlabelled(),
      };
    },

    async act(sampleId, action, actor, now = new Date()) {
      const sample = await find(sampleId);
      switch (action.action) {
        case 'skip':
          return write(sample, { action: 'skip', label: null, status: null }, actor, now);
        case 'none':
          return write(sample, { action: 'none', label: null, status: 'none' }, actor, now);
        case 'confirm': {
          const label = action.label ?? sample.preLabel;
          if (label === null) throw new ValidationError(`sample '${sampleId}' has no prediction to confirm`);
          return write(sample, { action: 'confirm', label, status: statusFor(sample, label) }, actor, now);
        }
        case 'correct': {
          const label = action.label!;
          const known = (await labels.listClasses()).some((c) => c.name === label);
          if (!known && !action.newClass) {
            throw new ValidationError(`'${label}' is not a known class; send newClass: true to add it`);
          }
          if (!known) await labels.addClass(label, actor, now.toISOString());
          return write(sample, { action: 'correct', label, status: statusFor(sample, label) }, actor, now);
        }
      }
    },

    async setLabel(sampleId, label, actor, now = new Date()) {
      const sample = await find(sampleId);
      await labels.addClass(label, actor, now.toISOString());
      return write(sample, { action: 'label', label, status: statusFor(sample, label) }, actor, now);
    },

    async bulkConfirm(sampleIds, actor, now = new Date()) {
      const confirmed: string[] = [];
      const skipped: { sampleId: string; reason: string }[] = [];
      for (const sampleId of new Set(sampleIds)) {
        const sample = await labels.getLabelled(sampleId);
        if (!sample) skipped.push({ sampleId, reason: 'not found' });
        else if (sample.labelStatus !== null)
          skipped.push({ sampleId, reason: `already ${sample.labelStatus}` });
        else if (sample.preLabel === null) skipped.push({ sampleId, reason: 'no prediction to confirm' });
        else {
          await write(sample, { action: 'confirm', label: sample.preLabel, status: 'confirmed' }, actor, now);
          confirmed.push(sampleId);
        }
      }
      return { confirmed, skipped };
    },
  };
}
