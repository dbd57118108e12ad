/**
 * Random, truncated and mutated payloads on every topic a device publishes to, sent through the
 * real embedded broker with a real device's credentials. A payload the schema would accept is an
 * accepted input (it may change state); everything else must be dropped without a trace. After a
 * batch the bench waits until the control plane has handled it: a status message flips the
 * device's `online` flag (a column the digest ignores) and the API is polled until it shows.
 */
import {
  apiRoutes,
  DEVICE_PUBLISH_KINDS,
  DeviceEventSchema,
  DeviceStatusSchema,
  deviceClientId,
  LiveFrameSchema,
  PredictionSchema,
  ReportedStateSchema,
  routeUrl,
  topics,
} from '@edgeloop/shared';
import mqtt from 'mqtt';
import type { z } from 'zod';
import { exampleOf, int, jsonSchemaOf, mutate, type Rng, randomJson } from './json-values.ts';
import type { Attempt, Recorder } from './recorder.ts';

const SCHEMAS: Record<(typeof DEVICE_PUBLISH_KINDS)[number], z.ZodType> = {
  state: ReportedStateSchema,
  status: DeviceStatusSchema,
  predictions: PredictionSchema,
  events: DeviceEventSchema,
  frame: LiveFrameSchema,
};
const BATCH = 25;

function payloadFor(schema: z.ZodType, rng: Rng): Buffer {
  const example = exampleOf(jsonSchemaOf(schema) ?? undefined, rng);
  const r = rng();
  if (r < 0.45) return Buffer.from(JSON.stringify(mutate(example, rng)));
  if (r < 0.6) {
    const text = JSON.stringify(example) ?? '';
    return Buffer.from(text.slice(0, int(rng, 1, Math.max(1, text.length - 1))));
  }
  if (r < 0.75) return Buffer.from(JSON.stringify(randomJson(rng)));
  if (r < 0.9) return Buffer.from(new Uint8Array(int(rng, 1, 512)).map(() => int(rng, 0, 255)));
  if (r < 0.95) return Buffer.from(`{"protocol":1,"pad":"${'x'.repeat(int(rng, 1000, 60_000))}"}`);
  return Buffer.from('null');
}

function accepts(schema: z.ZodType, payload: Buffer): boolean {
  try {
    return schema.safeParse(JSON.parse(payload.toString('utf8'))).success;
  } catch {
    return false;
  }
}

export async function fuzzMqtt(
  target: { mqttUrl: string; httpUrl: string; adminToken: string },
  device: { deviceId: string; secret: string },
  recorder: Recorder,
  rng: Rng,
  budget: number,
): Promise<void> {
  const client = await mqtt.connectAsync(target.mqttUrl, {
    clientId: deviceClientId(device.deviceId),
    username: device.deviceId,
    password: device.secret,
    reconnectPeriod: 0,
  });
  let online = true;
  const settle = async () => {
    online = !online;
    const status = { protocol: 1, online, at: new Date().toISOString() };
    await client.publishAsync(topics.status(device.deviceId), JSON.stringify(status), { qos: 1 });
    for (let i = 0; i < 400; i++) {
      const res = await fetch(`${target.httpUrl}${routeUrl(apiRoutes.getDevice, { id: device.deviceId })}`, {
        headers: { authorization: `Bearer ${target.adminToken}` },
      });
      if (((await res.json()) as { online?: boolean }).online === online) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    recorder.note('mqtt: the control plane stopped handling device messages');
  };
  try {
    await settle();
    const perKind = Math.max(1, Math.ceil(budget / DEVICE_PUBLISH_KINDS.length));
    for (const kind of DEVICE_PUBLISH_KINDS) {
      const schema = SCHEMAS[kind];
      for (let done = 0; done < perKind; done += BATCH) {
        const sends = Array.from(
          { length: Math.min(BATCH, perKind - done) },
          () => async (): Promise<Attempt> => {
            const payload = payloadFor(schema, rng);
            // Empty payloads clear a retained message (MQTT 3.1.1 §3.3.1.3): not an input here.
            if (payload.length === 0) payload.write('x');
            try {
              await client.publishAsync(topics[kind](device.deviceId), payload, { qos: 1 });
              return { rejected: !accepts(schema, payload), unexpected: null };
            } catch (err) {
              return { rejected: true, unexpected: `publish on ${kind}: ${(err as Error).message}` };
            }
          },
        );
        await recorder.batch(`mqtt ${kind}`, sends, settle);
      }
    }
  } finally {
    await client.endAsync();
  }
}
