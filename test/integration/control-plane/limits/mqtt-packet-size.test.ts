/**
 * The embedded broker's maximum packet size holds before a packet is buffered: a PUBLISH that
 * claims more than quotas.mqttMaxPacketBytes closes its connection while only its first bytes
 * have arrived, other clients stay connected, and the broker keeps serving.
 */
import { connect } from 'node:net';
import { deviceClientId } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectDevice,
  type Device,
  enroll,
  startTestControlPlane,
  type TestControlPlane,
} from '../helpers.ts';

let t: TestControlPlane;
let cam: Device;
beforeAll(async () => {
  t = await startTestControlPlane({ quotas: { mqttMaxPacketBytes: 64 * 1024 } });
  cam = await enroll(t, 'cam-1');
});
afterAll(async () => {
  await t.stop();
});

/** MQTT 3.1.1 Remaining Length (§2.2.3). */
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function connectPacket(clientId: string, username: string, password: string): Buffer {
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0xc2, 0, 60]),
    str(clientId),
    str(username),
    str(password),
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

/**
 * Connects as the device, then starts a PUBLISH claiming `claimed` bytes and streams its body.
 * Resolves with the body bytes written before the broker closed the socket.
 */
function oversizedPublish(
  url: string,
  device: Device,
  claimed: number,
): Promise<{ sent: number; connack: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let sent = 0;
    let connack = -1;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${sent} bytes`));
    }, 20_000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ sent, connack });
    });
    socket.on('error', () => {});
    socket.on('data', (data) => {
      if (connack !== -1) return;
      connack = data[3] ?? -1;
      const topic = str(`edgeloop/v1/devices/${device.deviceId}/events`);
      socket.write(Buffer.concat([Buffer.from([0x30]), varint(claimed), topic]));
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!socket.destroyed && sent < claimed) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    socket.on('connect', () =>
      socket.write(connectPacket(deviceClientId(device.deviceId), device.deviceId, device.secret)),
    );
  });
}

describe('maximum MQTT packet size', () => {
  it('closes a connection whose PUBLISH claims 200 MiB before taking it, and keeps serving others', async () => {
    const bystander = await connectDevice(t.cp.mqttUrl, await enroll(t, 'cam-2'));
    const claimed = 200 * 1024 * 1024;
    const out = await oversizedPublish(t.cp.mqttUrl, cam, claimed);
    expect(out.connack).toBe(0);
    // Closed on the header: what got written is socket buffers, not the packet.
    expect(out.sent).toBeLessThan(16 * 1024 * 1024);
    expect(bystander.connected).toBe(true);
    await bystander.publishAsync('edgeloop/v1/devices/cam-2/events', 'x', { qos: 1 });
    await bystander.endAsync();
    const again = await connectDevice(t.cp.mqttUrl, cam);
    expect(again.connected).toBe(true);
    await again.endAsync();
    const metrics = await (await fetch(`${t.cp.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/edgeloop_mqtt_refused_total\{reason="oversize-packet"\} 1/);
  });

  it('still carries packets under the limit', async () => {
    const client = await connectDevice(t.cp.mqttUrl, cam);
    await client.publishAsync(`edgeloop/v1/devices/${cam.deviceId}/events`, Buffer.alloc(60 * 1024, 0x20), {
      qos: 1,
    });
    await client.endAsync();
  });
});
