/**
 * Ingest benchmark: the store's write path for device predictions, on its own, without the MQTT
 * and HTTP work the fleet benchmark mixes in.
 *
 *   npx edgeloop bench ingest [--devices 1000] [--messages 20000] [--per-flush 25] [--postgres-url URL] [--json]
 *
 * A fresh store (SQLite file, or the given Postgres database) with `--devices` enrolled, each with
 * a full recent window. Then `--messages` predictions, round-robin over the devices, are written
 * twice: one transaction per message as the control plane used to (known-device check, then the
 * prediction), and in batches of `--per-flush` as the ingest batcher does (one transaction: one
 * `IN (...)` check, then the multi-row batch). `--per-flush` is messages per flush interval: at
 * 10,000 devices sending 6 predictions a minute and a 250 ms flush, about 250. Prints the CPU of
 * this process per message for each (with Postgres the server's own CPU is not counted).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, PROTOCOL_VERSION, type Prediction } from '@edgeloop/shared';
import { openPostgresStore } from '../control-plane/src/store/postgres-store.ts';
import type { DeviceReport } from '../control-plane/src/store/records.ts';
import { openSqliteStore } from '../control-plane/src/store/sqlite-store.ts';
import type { Store } from '../control-plane/src/store/store.ts';

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string', default: '1000' },
      messages: { type: 'string', default: '20000' },
      'per-flush': { type: 'string', default: '25' },
      'postgres-url': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const devices = Number(values.devices);
  const messages = Number(values.messages);
  const perFlush = Number(values['per-flush']);
  const logger = createLogger({ level: 'silent' });
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-bench-ingest-'));
  const store: Store = values['postgres-url']
    ? await openPostgresStore({ url: values['postgres-url'] }, logger)
    : await openSqliteStore(join(dir, 'db.sqlite'), logger);
  try {
    const ids = Array.from({ length: devices }, (_, i) => `ingest-${process.pid}-${i}`);
    await store.devices.createEnrollmentToken({
      tokenHash: `bench-${process.pid}`,
      group: 'bench',
      usesLeft: devices,
      expiresAt: '2999-01-01T00:00:00Z',
    });
    for (const deviceId of ids) {
      await store.devices.enroll(
        `bench-${process.pid}`,
        { deviceId, name: null, hardware: null, secretHash: 'bench' },
        new Date(),
      );
    }
    let n = 0;
    const next = (): DeviceReport => {
      const deviceId = ids[n++ % devices]!;
      const prediction: Prediction = {
        protocol: PROTOCOL_VERSION,
        modelVersion: 1,
        frameId: `f${n}`,
        capturedAt: new Date().toISOString(),
        topK: [
          { label: 'red', confidence: 0.9 },
          { label: 'blue', confidence: 0.1 },
        ],
        latencyMs: 12,
      };
      return { kind: 'prediction', deviceId, prediction, receivedAt: new Date().toISOString() };
    };
    // Every device's recent window full, so each write also trims.
    for (let round = 0; round < 101; round++) {
      await store.devices.recordBatch(Array.from({ length: devices }, next));
    }

    const cpuMsPerMessage = async (write: () => Promise<void>, calls: number) => {
      const before = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < calls; i++) await write();
      const cpu = process.cpuUsage(before);
      return {
        cpu: (cpu.user + cpu.system) / 1000 / messages,
        perSecond: messages / ((performance.now() - start) / 1000),
      };
    };
    const single = await cpuMsPerMessage(async () => {
      const r = next();
      if (r.kind !== 'prediction') return;
      if (await store.devices.exists(r.deviceId)) {
        await store.devices.recordPrediction(r.deviceId, r.prediction, r.receivedAt);
      }
    }, messages);
    const batched = await cpuMsPerMessage(
      async () => {
        const batch = Array.from({ length: perFlush }, next);
        await store.transaction(async (tx) => {
          const known = await tx.devices.existingIds(batch.map((m) => m.deviceId));
          await tx.devices.recordBatch(batch.filter((m) => known.has(m.deviceId)));
        });
      },
      Math.ceil(messages / perFlush),
    );
    const result = {
      store: store.engine,
      devices,
      messages,
      perFlush,
      perMessageTransactionCpuMs: round(single.cpu),
      batchedCpuMs: round(batched.cpu),
      perMessageTransactionPerSec: Math.round(single.perSecond),
      batchedPerSec: Math.round(batched.perSecond),
      loadAverage1m: round(loadavg()[0], 1),
    };
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
    );
    return 0;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
