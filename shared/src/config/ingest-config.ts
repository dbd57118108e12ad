/**
 * How the control plane writes what devices report (state, status, predictions, events): in
 * batches, one transaction per flush (docs/guides/past-one-machine.md, "Ingestion").
 */
import { z } from 'zod';

export const IngestConfigSchema = z
  .object({
    flushMs: z
      .number()
      .int()
      .min(1)
      .max(60_000)
      .default(250)
      .describe(
        'Longest a received device message waits before it is written (ms); messages that arrive meanwhile are written together in one transaction.',
      ),
    maxBatch: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1_000)
      .describe('Messages written per transaction at most; a full batch is written at once.'),
    maxBuffered: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .default(50_000)
      .describe(
        'Messages held in memory while the database is slow or down (a failed write is retried with backoff); at this bound the control plane stops reading MQTT until there is room, so the backlog waits in the broker and nothing is dropped.',
      ),
    recentPredictionsPerDevice: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(100)
      .describe(
        "Each device's newest predictions kept row by row (the dashboard's telemetry and the confidence-drift alert read them; keep it at least alerts.confidenceDrift.minPredictions); older ones only count in the device's totals.",
      ),
  })
  .prefault({})
  .describe('Batched writing of device state, status, predictions and events.');
export type IngestConfig = z.infer<typeof IngestConfigSchema>;
