/**
 * The dashboard in real Chromium (Debian's, driven by playwright-core) against a real control
 * plane: enrolled devices reporting over the real broker, published ONNX models, uploaded
 * samples, and a real retraining run started from the UI. Screenshots: see dashboard-browser.ts.
 */
import { type Prediction, topics } from '@edgeloop/shared';
import type { MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../control-plane/src/auth/secrets.ts';
import { hasChromium, launchChromium, pageErrors, screenshot, signIn } from '../helpers/dashboard-browser.ts';
import { edgeloopArgv } from '../helpers/edgeloop-cli.ts';
import { testManifest } from '../helpers/manifest-fixture.ts';
import { redBlueClassifier } from '../helpers/tiny-onnx.ts';
import {
  connectDevice,
  createToken,
  type Device,
  jsonBody,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';
import { sampleMetadata, uploadSample } from '../integration/control-plane/sample-helpers.ts';

let t: TestControlPlane;
let browser: Browser;
const cams: { device: Device; client: MqttClient }[] = [];

async function colourImage(colour: 'red' | 'blue', i: number, size = 32): Promise<Uint8Array> {
  const raw = Buffer.alloc(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    raw[p * 3 + (colour === 'red' ? 0 : 2)] = 180 + ((p * 7 + i * 13) % 70);
    raw[p * 3 + 1] = (p * 3 + i * 11) % 60;
  }
  const image = sharp(raw, { raw: { width: size, height: size, channels: 3 } });
  return new Uint8Array(await image.png().toBuffer());
}

/** Trainer-style metrics: per-class figures, a confusion matrix, and a loss/accuracy history. */
function metrics(red: number, blue: number) {
  const row = (r: number, i: number) => (i === 0 ? [r * 50, (1 - r) * 50] : [(1 - r) * 50, r * 50]);
  return {
    valAccuracy: (red + blue) / 2,
    perClass: [
      { label: 'red', support: 50, precision: 0.9, recall: red },
      { label: 'blue', support: 50, precision: 0.9, recall: blue },
    ],
    confusion: [row(red, 0), row(blue, 1)].map((r) => r.map(Math.round)),
    history: [1, 2, 3].map((epoch) => ({
      epoch,
      loss: 1 / epoch,
      accuracy: 0.5 + epoch / 10,
      valLoss: 1.2 / epoch,
      valAccuracy: 0.45 + epoch / 10,
    })),
  };
}

async function publish(version: number, m: object) {
  const model = redBlueClassifier({ k: 0.02 });
  const form = new FormData();
  form.set('manifest', JSON.stringify(testManifest(model, { modelVersion: version, name: 'red-blue' })));
  form.set('metrics', JSON.stringify(m));
  form.set('model.onnx', new Blob([model]), 'model.onnx');
  const res = await t.api('/models', { method: 'POST', body: form, admin: true });
  expect(res.status).toBe(201);
}

async function addDatasetImages(dataset: string, count: number, offset: number) {
  for (const colour of ['red', 'blue'] as const) {
    for (let i = 0; i < count; i++) {
      const form = new FormData();
      form.set('label', colour);
      form.set('image', new Blob([await colourImage(colour, offset + i)]), `${colour}-${i}.png`);
      const res = await t.api(`/datasets/${dataset}/images`, { method: 'POST', body: form, admin: true });
      expect(res.status).toBe(201);
    }
  }
}

/** One clock for every prediction, so their capture times are exactly 500 ms apart however slowly they are sent. */
const CAPTURE_BASE_MS = Date.now();

function prediction(version: number, label: string, confidence: number, i: number): Prediction {
  return {
    protocol: 1,
    modelVersion: version,
    frameId: `f-${i}`,
    capturedAt: new Date(CAPTURE_BASE_MS - (20 - i) * 500).toISOString(),
    topK: [
      { label, confidence },
      { label: label === 'red' ? 'blue' : 'red', confidence: 1 - confidence },
    ],
    latencyMs: 3 + (i % 4),
  };
}

/** A device as the agent presents itself: online status, its state, predictions, an event. */
async function bringOnline(device: Device, version: number, confidences: number[], health?: object) {
  const client = await connectDevice(t.cp.mqttUrl, device);
  const at = new Date().toISOString();
  const publish = (topic: string, body: object, retain = false) =>
    client.publishAsync(topic, JSON.stringify(body), { qos: 1, retain });
  await publish(topics.status(device.deviceId), { protocol: 1, online: true, at }, true);
  await publish(topics.state(device.deviceId), {
    protocol: 1,
    modelVersion: version,
    status: 'running',
    agentVersion: '0.1.0',
    framesProcessed: 1200,
    samplesQueued: 3,
    reportedAt: at,
    health,
  });
  for (const [i, c] of confidences.entries()) {
    await publish(topics.predictions(device.deviceId), prediction(version, 'red', c, i));
  }
  await publish(topics.events(device.deviceId), {
    protocol: 1,
    type: 'model-installed',
    message: `installed version ${version}`,
    modelVersion: version,
    at,
  });
  if (health) {
    await publish(topics.events(device.deviceId), {
      protocol: 1,
      type: 'camera-error',
      message: 'no frame for 5 s: camera restarted',
      at,
    });
  }
  cams.push({ device, client });
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const shot = screenshot;
const signedIn = (name: string, password: string, viewport?: { width: number; height: number }) =>
  signIn(browser, t.cp.httpUrl, name, password, viewport);

describe.skipIf(!hasChromium)('dashboard in Chromium', () => {
  beforeAll(async () => {
    const browserStart = launchChromium();
    t = await startTestControlPlane({
      users: [
        { name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') },
        { name: 'vic', role: 'viewer', passwordHash: await hashSecret('viewer-pass') },
      ],
      pipeline: {
        trainCommand: edgeloopArgv('train'),
        predictCommand: edgeloopArgv('predict'),
        candidates: [{ name: 'tiny', args: ['--input-size', '32', '--epochs', '2', '--batch-size', '4'] }],
        retries: 0,
      },
    });
    await publish(1, metrics(0.82, 0.7));
    await publish(2, metrics(0.9, 0.86));
    await addDatasetImages('base', 4, 0);
    await addDatasetImages('eval', 2, 100);
    // 55 devices: more than one page of the fleet table.
    const token = await createToken(t, { uses: 60, group: 'store-north' });
    const devices: Device[] = [];
    for (let i = 0; i < 55; i++) {
      const res = await t.api(
        '/devices/enroll',
        jsonBody({
          protocol: 1,
          token,
          deviceId: `cam-${String(i).padStart(2, '0')}`,
          name: `Aisle ${i}`,
          // Tags asked for at enrollment: two outdoor cameras, one of them at the entrance.
          tags: i === 0 ? ['entrance', 'outdoor'] : i === 1 ? ['outdoor'] : undefined,
        }),
      );
      devices.push((await res.json()) as Device);
    }
    await bringOnline(devices[0], 2, [0.95, 0.9, 0.55, 0.92, 0.5, 0.97, 0.93, 0.45, 0.9, 0.96], {
      fps: 4.8,
      latencyP50Ms: 12.5,
      latencyP95Ms: 20.1,
      framesDropped: 3,
      cameraRestarts: 2,
      queueDepth: 5,
      evictions: 0,
      uptimeS: 7300,
      cpuTemperatureC: 61.5,
    });
    await bringOnline(devices[1], 1, [0.7, 0.65, 0.5, 0.58, 0.62, 0.4, 0.66, 0.59]);
    for (let i = 0; i < 4; i++) {
      const colour = i % 2 === 0 ? 'red' : 'blue';
      const meta = {
        ...sampleMetadata(`dash-${i}`, [
          { label: colour, confidence: 0.45 },
          { label: colour === 'red' ? 'blue' : 'red', confidence: 0.4 },
        ]),
        modelVersion: 2,
      };
      const { status } = await uploadSample(t, devices[0], meta, await colourImage(colour, 300 + i, 96));
      expect(status).toBe(201);
    }
    await until(
      async () => ((await t.cp.store.devices.get('cam-01'))?.predictionsTotal ?? 0) >= 8,
      'predictions recorded',
    );
    browser = await browserStart;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const { client } of cams) await client.endAsync();
    await t?.cp.pipeline.idle();
    await t?.stop();
  });

  it('lets a viewer look at every page but press nothing that changes things', async () => {
    const page = await signedIn('vic', 'viewer-pass');
    await page.waitForSelector('#fleet-table tbody tr');
    expect(await page.textContent('#who-role')).toBe('viewer');
    await page.goto(`${t.cp.httpUrl}/ui/#/labelling`);
    await page.waitForSelector('#label-image');
    expect(await page.isDisabled('.key.pre')).toBe(true);
    await page.keyboard.press('Enter');
    await page.goto(`${t.cp.httpUrl}/ui/#/models`);
    await page.waitForSelector('#models-table .promote');
    expect(await page.isDisabled('#models-table .promote')).toBe(true);
    await page.goto(`${t.cp.httpUrl}/ui/#/runs`);
    await page.waitForSelector('#start-run');
    expect(await page.isDisabled('#start-run')).toBe(true);
    // The keyboard did not label anything either.
    expect(await t.cp.store.labelling.history((await firstQueued()).sampleId)).toEqual([]);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('starts a retraining run from the Training runs page as an operator', async () => {
    const page = await signedIn('olga', 'operator-pass');
    await page.goto(`${t.cp.httpUrl}/ui/#/runs`);
    await page.click('#start-run');
    await page.waitForSelector('#runs-table tbody tr');
    expect(await page.textContent('#runs-table tbody tr td:nth-child(4)')).toBe('olga');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('shows the fleet with counts, figures, search, sort and pages, and updates live', async () => {
    const page = await signedIn('olga', 'operator-pass');
    await page.waitForSelector('#fleet-table tbody tr');
    expect(await page.textContent('#fleet-range')).toBe('1–50 of 55');
    const counts = await page.textContent('#fleet-counts');
    expect(counts).toContain('online 2');
    expect(counts).toContain('offline 53');
    expect(counts).toContain('v2 1');
    const cam0 = page.locator('tr[data-device="cam-00"]');
    expect(await cam0.locator('.dot.online').count()).toBe(1);
    expect(await cam0.locator('td.version').textContent()).toBe('v2');
    expect(await cam0.locator('td.num').nth(0).textContent()).toBe('4.8'); // the heartbeat's fps
    expect(await cam0.locator('td.num').nth(2).textContent()).toBe('30.0%'); // 3 of 10 below 0.6
    // cam-01 sends no heartbeat: its fps comes from its predictions, 500 ms apart.
    expect(await page.locator('tr[data-device="cam-01"] td.num').nth(0).textContent()).toBe('2.0');
    expect(await cam0.locator('svg.spark polyline').count()).toBe(1);
    await shot(page, 'fleet', true);

    await page.click('button:has-text("Next")');
    await page.locator('#fleet-range', { hasText: '51–55 of 55' }).waitFor();
    await page.fill('input[type=search]', 'aisle 1');
    await page.locator('#fleet-range', { hasText: /of 11$/ }).waitFor();
    await page.reload(); // the filters are in the address
    await page.locator('#fleet-range', { hasText: /of 11$/ }).waitFor();
    expect(await page.inputValue('input[type=search]')).toBe('aisle 1');
    await page.fill('input[type=search]', '');
    await page.locator('#fleet-range', { hasText: /of 55$/ }).waitFor();
    // Tags show per device; the tag filter keeps the devices having that tag.
    expect(await page.locator('tr[data-device="cam-00"] td.tags .tag').allTextContents()).toEqual([
      'entrance',
      'outdoor',
    ]);
    await page.selectOption('select[aria-label="tag"]', 'outdoor');
    await page.locator('#fleet-range', { hasText: /of 2$/ }).waitFor();
    expect(
      await page
        .locator('#fleet-table tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device'))),
    ).toEqual(['cam-00', 'cam-01']);
    await page.selectOption('select[aria-label="tag"]', '');
    await page.locator('#fleet-range', { hasText: /of 55$/ }).waitFor();
    await page.click('th[data-sort=lastSeenAt] a');
    await page.click('th[data-sort=lastSeenAt] a'); // descending: the devices seen recently first
    await page.locator('#fleet-table tbody tr:first-child[data-device^="cam-0"] .dot.online').waitFor();

    // Live: cam-01 goes offline over MQTT and the page follows without a reload.
    const cam1 = cams[1];
    await cam1.client.publishAsync(
      topics.status(cam1.device.deviceId),
      JSON.stringify({ protocol: 1, online: false, at: new Date().toISOString() }),
      { qos: 1, retain: true },
    );
    await page.locator('#fleet-counts', { hasText: 'online 1' }).waitFor();
    await page.setViewportSize({ width: 390, height: 800 });
    await shot(page, 'fleet-phone');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('shows a device: last frame and prediction, telemetry, versions, queue depth, events', async () => {
    const page = await signedIn('olga', 'operator-pass');
    await page.goto(`${t.cp.httpUrl}/ui/#/device/cam-00`);
    await page.waitForSelector('#device-frame');
    await until(
      async () =>
        (await page.$eval('#device-frame', (img) => (img as { naturalWidth: number }).naturalWidth)) > 0,
      'frame image loaded',
    );
    expect(await page.textContent('#device-prediction')).toContain('red — 96.0%');
    expect(await page.textContent('.kv')).toContain('5 samples'); // the heartbeat's queue depth
    expect(await page.textContent('#device-health')).toContain('camera restarts 2');
    expect(await page.textContent('#device-health')).toContain('12.5 / 20.1 ms');
    expect(await page.textContent('#device-events')).toContain('installed version 2');
    expect(await page.textContent('#device-events')).toContain('camera restarted');
    expect(await page.locator('svg.chart polyline').count()).toBe(2);
    await shot(page, 'device');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('labels the queue with the keyboard and stores the labels', async () => {
    const page = await signedIn('olga', 'operator-pass');
    await page.goto(`${t.cp.httpUrl}/ui/#/labelling`);
    await page.waitForSelector('#label-image');
    await shot(page, 'labelling', true);
    const first = await firstQueued();
    await page.keyboard.press('Enter'); // confirm the pre-label
    await until(
      async () => (await t.cp.store.samples.get(first.sampleId))?.label === first.preLabel,
      'confirmed label',
    );
    const second = await firstQueued();
    const keyOfBlue = await page.locator('.key[data-label="blue"] kbd').textContent();
    await page.waitForSelector(`img[alt="sample ${second.sampleId}"]`);
    await page.keyboard.press(keyOfBlue!);
    await until(
      async () => (await t.cp.store.samples.get(second.sampleId))?.label === 'blue',
      'corrected label',
    );
    const third = await firstQueued();
    await page.waitForSelector(`img[alt="sample ${third.sampleId}"]`);
    await page.keyboard.press('s');
    await until(
      async () => (await t.cp.store.labelling.getLabelled(third.sampleId))?.skippedAt !== null,
      'skip',
    );
    // A class nobody has defined yet, typed in (typing does not trigger the shortcuts).
    const fourth = await firstQueued();
    await page.waitForSelector(`img[alt="sample ${fourth.sampleId}"]`);
    await page.fill('input[aria-label="new class"]', 'purple');
    await page.press('input[aria-label="new class"]', 'Enter');
    await until(
      async () => (await t.cp.store.samples.get(fourth.sampleId))?.label === 'purple',
      'new class label',
    );
    expect((await t.cp.store.labelling.listClasses()).map((c) => c.name)).toContain('purple');
    expect((await t.cp.store.samples.get(second.sampleId))?.labelledBy).toBe('olga');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('compares two versions and promotes one', async () => {
    const page = await signedIn('olga', 'operator-pass');
    await page.goto(`${t.cp.httpUrl}/ui/#/models`);
    await page.waitForSelector('#models-table tr[data-version="2"]');
    await page.selectOption('select[aria-label="version A"]', '1');
    await page.selectOption('select[aria-label="version B"]', '2');
    await page.locator('#compare', { hasText: '+12.0 points' }).waitFor();
    expect(await page.locator('#per-class .row').count()).toBe(4);
    expect(await page.locator('#compare table.matrix').count()).toBe(2);
    await page.click('#models-table tr[data-version="2"] .promote');
    await page.waitForSelector('#promotion-result');
    // The decision depends on whether the retraining run (racing this test) promoted its model
    // first; either way the page shows the stored decision, and the alias follows it.
    const decision = (await t.cp.store.registry.promotionsOf(2)).at(-1)!;
    expect(decision.actor).toBe('olga');
    expect(await page.textContent('#promotion-result')).toContain(decision.reason);
    if (decision.promoted) {
      await page.locator('#models-table tr[data-version="2"]', { hasText: 'production' }).waitFor();
    }
    await shot(page, 'models', true);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('classifies an uploaded image with a chosen version', async () => {
    const page = await signedIn('olga', 'operator-pass');
    await page.goto(`${t.cp.httpUrl}/ui/#/try`);
    await page.waitForSelector('select[aria-label="model version"] option[value="1"]', { state: 'attached' });
    await page.selectOption('select[aria-label="model version"]', '1');
    const image = Buffer.from(await colourImage('blue', 7, 64));
    await page.setInputFiles('input[type=file]', { name: 'blue.png', mimeType: 'image/png', buffer: image });
    await page.click('#try-form button[type=submit]');
    await page.waitForSelector('#try-result .bars', { timeout: 30_000 });
    expect(await page.textContent('#try-result .row:first-child')).toContain('blue');
    await shot(page, 'try');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 40_000);

  it('shows the finished run with its steps, logs and training curves', async () => {
    await t.cp.pipeline.idle();
    const [run] = await t.cp.store.pipeline.listRuns(1);
    expect(run.status).toBe('succeeded');
    const page = await signedIn('olga', 'operator-pass');
    await page.goto(`${t.cp.httpUrl}/ui/#/runs/${run.id}`);
    await page.waitForSelector('#run-steps');
    expect(await page.locator('#run-steps .card').count()).toBe(run.steps.length);
    expect(await page.textContent('#run-steps')).toContain('register');
    await page.waitForSelector('#run-curves svg.chart');
    await shot(page, 'run');

    // A log opened and scrolled by hand stays so while the page redraws (a running step's growing
    // log redraws it every few seconds; here a second run being queued changes the pipeline).
    const train = page
      .locator('#run-steps .card', { has: page.locator('h2', { hasText: /^train / }) })
      .locator('details');
    expect(await train.evaluate((d) => (d as { open: boolean }).open)).toBe(false);
    await train.locator('summary').click();
    const pre = train.locator('pre');
    expect(await pre.evaluate((el) => el.scrollHeight - el.clientHeight)).toBeGreaterThan(40);
    await pre.evaluate((el) => {
      el.scrollTop = 40;
    });
    await page.$eval('#run-steps', (el) => el.setAttribute('data-drawn-before', ''));
    const queued = await t.api('/pipeline/runs', {
      method: 'POST',
      ...jsonBody({ protocol: 1 }),
      admin: true,
    });
    expect(queued.status).toBe(202);
    await page.waitForSelector('[data-drawn-before]', { state: 'detached', timeout: 10_000 });
    expect(await train.evaluate((d) => (d as { open: boolean }).open)).toBe(true);
    expect(await pre.evaluate((el) => el.scrollTop)).toBe(40);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

async function firstQueued() {
  const res = await t.api('/labelling/queue?limit=1', { admin: true });
  const { samples } = (await res.json()) as { samples: { sampleId: string; preLabel: string }[] };
  return samples[0];
}
