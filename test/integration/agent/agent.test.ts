/**
 * The agent against a minimal stand-in control plane written here: node:http for enroll / desired /
 * manifest / files / samples, and an aedes broker with the device ACL from shared. Real parts
 * otherwise: onnxruntime on a tiny hand-built model, sharp, MQTT over loopback, files on disk.
 * The tests run in order and share one device (enroll → install → refuse → upload → restarts).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  type AgentConfig,
  AgentConfigSchema,
  compactEmbedding,
  createLogger,
  type DesiredState,
  DeviceHealthSchema,
  deviceClientId,
  deviceMayPublish,
  deviceMaySubscribe,
  EMBEDDING_DIMS,
  EnrollRequestSchema,
  embeddingDistance,
  generateSigningKey,
  type LogLevel,
  type Manifest,
  PROTOCOL_VERSION,
  type SampleMetadata,
  SampleMetadataSchema,
  type SigningKey,
  sha256Hex,
  signDesiredState,
  signManifest,
  topics,
} from '@edgeloop/shared';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../agent/src/agent-bus.ts';
import { FolderCamera } from '../../../agent/src/camera/folder-camera.ts';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';
import { type Agent, startAgent } from '../../../agent/src/main.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { redBlueClassifier } from '../../helpers/tiny-onnx.ts';

const TOKEN = 'enroll-token-0123456789abcdef';
const logger = createLogger({
  level: (process.env.AGENT_TEST_LOG_LEVEL as LogLevel | undefined) ?? 'silent',
});

// ---------------------------------------------------------------------------------------------
// Stand-in control plane: just enough of the contract, nothing more.

interface MqttMessage {
  topic: string;
  payload: Record<string, unknown>;
  retain: boolean;
}

class StandInControlPlane {
  readonly devices = new Map<string, string>();
  readonly manifests = new Map<string, unknown>();
  readonly files = new Map<string, Uint8Array>();
  readonly samples = new Map<string, { deviceId: string; metadata: SampleMetadata; image: Buffer }>();
  readonly messages: MqttMessage[] = [];
  fileRequests = 0;
  /** Signs desired states as the control plane's key does (set by the test). */
  signingKey: SigningKey | null = null;
  private desiredContent = {
    protocol: PROTOCOL_VERSION,
    modelVersion: null as number | null,
    manifestPath: null as string | null,
    updatedAt: iso(),
    rollbackOrder: undefined as string | undefined,
  };
  sequence = 1;

  desiredFor(deviceId: string): DesiredState {
    if (!this.signingKey) throw new Error('the stand-in needs a signing key');
    const key = this.signingKey;
    return signDesiredState(
      {
        ...this.desiredContent,
        deviceId,
        sequence: this.sequence,
        issuedAt: iso(),
        trustedKeys: [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }],
      },
      [key],
    );
  }
  httpPort = 0;
  mqttPort = 0;
  private readonly listeners = new Set<(m: MqttMessage) => void>();
  private readonly usernames = new WeakMap<Client, string>();
  private http!: Server;
  private broker!: Aedes;
  private mqttServer!: NetServer;

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  async start(): Promise<void> {
    this.broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const ok =
          username !== undefined &&
          this.devices.get(username) === password?.toString() &&
          client.id === deviceClientId(username);
        if (ok) this.usernames.set(client, username);
        done(null, ok);
      },
      authorizePublish: (client, packet, done) => {
        const deviceId = client && this.usernames.get(client);
        done(deviceId && deviceMayPublish(deviceId, packet.topic) ? null : new Error('not allowed'));
      },
      authorizeSubscribe: (client, sub, done) => {
        const deviceId = this.usernames.get(client);
        done(deviceId && deviceMaySubscribe(deviceId, sub.topic) ? null : new Error('not allowed'), sub);
      },
    });
    this.broker.on('publish', (packet) => {
      if (!packet.topic.startsWith('edgeloop/') || packet.payload.length === 0) return;
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(packet.payload.toString());
      } catch {
        payload = { raw: packet.payload.toString() }; // the malformed messages this test sends itself
      }
      const message = { topic: packet.topic, payload, retain: packet.retain };
      this.messages.push(message);
      for (const listener of this.listeners) listener(message);
    });
    this.mqttServer = createNetServer(this.broker.handle);
    this.mqttServer.listen(0, '127.0.0.1');
    await once(this.mqttServer, 'listening');
    this.mqttPort = (this.mqttServer.address() as AddressInfo).port;
    await this.startHttp();
  }

  async startHttp(): Promise<void> {
    this.http = createHttpServer((req, res) => {
      this.route(req, res).catch((err) =>
        send(res, 500, { error: { code: 'INTERNAL', message: String(err) } }),
      );
    });
    this.http.listen(this.httpPort, '127.0.0.1');
    await once(this.http, 'listening');
    this.httpPort = (this.http.address() as AddressInfo).port;
  }

  async stopHttp(): Promise<void> {
    const closed = once(this.http, 'close');
    this.http.close();
    this.http.closeAllConnections();
    await closed;
  }

  async close(): Promise<void> {
    if (this.http.listening) await this.stopHttp();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await new Promise<void>((resolve) => this.mqttServer.close(() => resolve()));
  }

  /** Assigns a model: retained on the device's desired topic, and served over HTTP. */
  async assign(
    deviceId: string,
    modelVersion: number,
    manifestPath = `/api/v1/models/${modelVersion}/manifest`,
    rollbackOrder?: string,
  ) {
    this.desiredContent = {
      protocol: PROTOCOL_VERSION,
      modelVersion,
      manifestPath,
      updatedAt: iso(),
      rollbackOrder,
    };
    this.sequence++;
    await this.publishRetained(topics.desired(deviceId), JSON.stringify(this.desiredFor(deviceId)));
  }

  async publishRetained(topic: string, payload: string): Promise<void> {
    const packet = {
      cmd: 'publish',
      topic,
      payload: Buffer.from(payload),
      qos: 1,
      retain: true,
      dup: false,
    } as AedesPublishPacket;
    await new Promise<void>((resolve, reject) =>
      this.broker.publish(packet, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Waits for an MQTT message matching `predicate`, looking at messages from index `from` on. */
  waitForMessage(predicate: (m: MqttMessage) => boolean, what: string, from = 0): Promise<MqttMessage> {
    const seen = this.messages.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen);
    return withTimeout(
      new Promise((resolve) => {
        const listener = (m: MqttMessage) => {
          if (!predicate(m)) return;
          this.listeners.delete(listener);
          resolve(m);
        };
        this.listeners.add(listener);
      }),
      what,
    );
  }

  private deviceOf(req: IncomingMessage): string | null {
    const match = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (!match) return null;
    const [deviceId, secret] = Buffer.from(match[1], 'base64').toString().split(':');
    return this.devices.get(deviceId) === secret ? deviceId : null;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    if (req.method === 'POST' && path === '/api/v1/devices/enroll') {
      const body = EnrollRequestSchema.safeParse(JSON.parse((await readBody(req)).toString()));
      if (!body.success || body.data.token !== TOKEN) {
        return send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'bad enrollment token' } });
      }
      const deviceId = body.data.deviceId ?? `cam-${this.devices.size + 1}`;
      const secret = randomBytes(16).toString('hex');
      this.devices.set(deviceId, secret);
      return send(res, 201, {
        protocol: PROTOCOL_VERSION,
        deviceId,
        secret,
        mqttUrl: `mqtt://127.0.0.1:${this.mqttPort}`,
      });
    }
    const deviceId = this.deviceOf(req);
    if (!deviceId) return send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'who are you?' } });

    if (req.method === 'GET' && path === '/api/v1/device/desired')
      return send(res, 200, this.desiredFor(deviceId));
    if (req.method === 'GET' && this.manifests.has(path)) return send(res, 200, this.manifests.get(path));
    const file = /^\/api\/v1\/models\/(\d+)\/files\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && file) {
      const bytes = this.files.get(`${file[1]}/${decodeURIComponent(file[2])}`);
      if (!bytes) return send(res, 404, { error: { code: 'NOT_FOUND', message: 'no such file' } });
      this.fileRequests++;
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, { 'content-type': 'application/octet-stream' });
      return void res.end(Buffer.from(bytes.subarray(start)));
    }
    if (req.method === 'POST' && path === '/api/v1/samples') {
      const form = await new Request('http://stand-in/', {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body: Readable.toWeb(req) as ReadableStream,
        duplex: 'half',
      } as RequestInit).formData();
      const metadata = SampleMetadataSchema.safeParse(JSON.parse(String(form.get('metadata'))));
      const image = form.get('image');
      if (!metadata.success || !(image instanceof Blob)) {
        return send(res, 400, { error: { code: 'VALIDATION_FAILED', message: 'bad sample' } });
      }
      const key = metadata.data.idempotencyKey;
      const duplicate = this.samples.has(key);
      if (!duplicate)
        this.samples.set(key, {
          deviceId,
          metadata: metadata.data,
          image: Buffer.from(await image.arrayBuffer()),
        });
      const m = metadata.data;
      // The documented answer (apiRoutes.uploadSample), which the agent parses with its schema.
      const sample = {
        sampleId: `s-${key}`,
        deviceId,
        modelVersion: m.modelVersion,
        frameId: m.frameId,
        capturedAt: m.capturedAt,
        receivedAt: new Date().toISOString(),
        reason: m.reason,
        topK: m.topK,
        confidence: m.topK[0]?.confidence ?? 0,
        sha256: 'stand-in',
        bytes: image.size,
        width: 0,
        height: 0,
        label: null,
        labelledBy: null,
        labelledAt: null,
        usedInModelVersion: null,
        cameraId: m.cameraId ?? null,
      };
      return send(res, 201, { protocol: PROTOCOL_VERSION, sampleId: sample.sampleId, duplicate, sample });
    }
    send(res, 404, { error: { code: 'NOT_FOUND', message: `${req.method} ${path}` } });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function iso(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString();
}

async function withTimeout<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function waitForEvent<T extends AgentEvent['type']>(
  agent: Agent,
  type: T,
  predicate: (e: Extract<AgentEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<AgentEvent, { type: T }>> {
  let off = () => {};
  const event = new Promise<Extract<AgentEvent, { type: T }>>((resolve) => {
    off = agent.onEvent((e) => {
      if (e.type === type && predicate(e as Extract<AgentEvent, { type: T }>))
        resolve(e as Extract<AgentEvent, { type: T }>);
    });
  });
  return withTimeout(event, `agent event ${type}`).finally(off);
}

// ---------------------------------------------------------------------------------------------
// Models: the tiny red-vs-blue classifier, published as signed versions.

// With a `features` output, so the agent's samples carry an embedding (frame-embedding.ts).
const modelBytes = redBlueClassifier({ k: 0.01, features: true });

function unsignedManifest(version: number, bytes: Uint8Array, overrides: Partial<Manifest> = {}): Manifest {
  return testManifest(bytes, { name: 'red-vs-blue', modelVersion: version, ...overrides });
}

function publishModel(
  server: StandInControlPlane,
  version: number,
  manifest: Manifest,
  bytes = modelBytes,
): void {
  server.manifests.set(`/api/v1/models/${version}/manifest`, manifest);
  server.files.set(`${version}/model.onnx`, bytes);
}

// ---------------------------------------------------------------------------------------------

describe('agent against a stand-in control plane', () => {
  const codec = createSharpImageCodec();
  let root: string;
  let imagesDir: string;
  let server: StandInControlPlane;
  let signingKey: SigningKey;
  let config: AgentConfig;
  let agent: Agent | null = null;

  const camera = () => new FolderCamera({ path: imagesDir, fps: 10, loop: true });
  const retry = { baseMs: 50, maxMs: 400 };
  const start = () => startAgent(config, { logger, camera: camera(), retry, httpTimeoutMs: 2_000 });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'edgeloop-agent-it-'));
    imagesDir = join(root, 'camera');
    await mkdir(imagesDir);
    const solid = (rgb: [number, number, number]) => {
      const data = new Uint8Array(64 * 48 * 3);
      for (let i = 0; i < 64 * 48; i++) data.set(rgb, i * 3);
      return codec.encodeJpeg({ width: 64, height: 48, data });
    };
    await writeFile(join(imagesDir, 'a-red.jpg'), await solid([220, 30, 30]));
    await writeFile(join(imagesDir, 'b-blue.jpg'), await solid([30, 30, 220]));

    server = new StandInControlPlane();
    await server.start();
    signingKey = generateSigningKey();
    server.signingKey = signingKey;
    publishModel(server, 1, signManifest(unsignedManifest(1, modelBytes), signingKey));
    config = AgentConfigSchema.parse({
      controlPlaneUrl: server.url,
      dataDir: join(root, 'data'),
      enrollmentToken: TOKEN,
      deviceId: 'cam-test-1',
      trustedKeys: [{ keyId: signingKey.keyId, publicKeyPem: signingKey.publicKeyPem }],
      // The tiny model is ~0.89 sure of these images: every frame counts as low-confidence.
      samples: { lowConfidenceThreshold: 0.99, maxPerMinute: 600, maxQueued: 500, duplicateDistance: -1 },
      reportIntervalMs: 500,
      logLevel: 'silent',
    });
  });

  afterAll(async () => {
    await agent?.close();
    await server?.close().catch(() => {});
    await rm(root, { recursive: true, force: true });
  });

  it('refuses to start without credentials or an enrollment token', async () => {
    const bare = { ...config, dataDir: join(root, 'never-enrolled'), enrollmentToken: undefined };
    await expect(startAgent(bare, { logger, camera: camera() })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/not enrolled/),
    });
  });

  it('enrolls, installs the signed model and classifies red and blue frames over MQTT', async () => {
    await server.assign('cam-test-1', 1);
    agent = await start();
    expect(agent.deviceId).toBe('cam-test-1');
    const credentials = await stat(join(config.dataDir, 'credentials.json'));
    expect(credentials.mode & 0o777).toBe(0o600);

    await waitForEvent(agent, 'model-installed', (e) => e.modelVersion === 1);
    expect(agent.currentModelVersion()).toBe(1);

    const predictions = topics.predictions('cam-test-1');
    const red = await server.waitForMessage(
      (m) => m.topic === predictions && m.payload.frameId === 'a-red.jpg',
      'red',
    );
    const blue = await server.waitForMessage(
      (m) => m.topic === predictions && m.payload.frameId === 'b-blue.jpg',
      'blue',
    );
    const top = (m: MqttMessage) => (m.payload.topK as { label: string; confidence: number }[])[0];
    expect(top(red).label).toBe('red');
    expect(top(blue).label).toBe('blue');
    expect(top(red).confidence).toBeGreaterThan(0.8);
    expect(red.payload.modelVersion).toBe(1);

    const state = await server.waitForMessage(
      (m) =>
        m.topic === topics.state('cam-test-1') &&
        m.payload.modelVersion === 1 &&
        m.payload.status === 'running',
      'reported state v1 running',
    );
    expect(state.retain).toBe(true);
    const online = server.messages.find((m) => m.topic === topics.status('cam-test-1'));
    expect(online?.payload.online).toBe(true);
    expect(
      server.messages.some(
        (m) => m.topic === topics.events('cam-test-1') && m.payload.type === 'model-installed',
      ),
    ).toBe(true);
  });

  it('sends a heartbeat with fps, latency, queue and uptime', async () => {
    // fps needs two classified frames in the window; the first heartbeats may come before that.
    const beat = await server.waitForMessage((m) => {
      const h = m.payload.health as { latencyP50Ms?: number; fps?: number } | undefined;
      return m.topic === topics.state('cam-test-1') && (h?.latencyP50Ms ?? 0) > 0 && (h?.fps ?? 0) > 0;
    }, 'a heartbeat with fps and latency figures');
    const health = DeviceHealthSchema.parse(beat.payload.health);
    expect(health.fps).toBeGreaterThan(0);
    expect(health.latencyP95Ms).toBeGreaterThanOrEqual(health.latencyP50Ms!);
    expect(health.queueDepth).toBeGreaterThanOrEqual(0);
    expect(health.cameraRestarts).toBe(0);
    expect(agent!.stats().health.uptimeS).toBeGreaterThanOrEqual(0);
  });

  it('uploads low-confidence frames with their metadata', async () => {
    const uploaded = await waitForEvent(agent!, 'sample-uploaded');
    const stored = server.samples.get(uploaded.idempotencyKey)!;
    expect(stored.deviceId).toBe('cam-test-1');
    expect(stored.metadata).toMatchObject({ modelVersion: 1, reason: 'low-confidence', cameraId: 'default' });
    expect(['a-red.jpg', 'b-blue.jpg']).toContain(stored.metadata.frameId);
    const expected = stored.metadata.frameId === 'a-red.jpg' ? 'red' : 'blue';
    expect(stored.metadata.topK[0].label).toBe(expected);
    expect(stored.metadata.topK[0].confidence).toBeLessThan(0.99);
    // The model's features (the frame's mean RGB), compacted: red and blue frames point apart.
    expect(stored.metadata.embedding).toHaveLength(EMBEDDING_DIMS);
    const red = compactEmbedding([220, 30, 30]);
    const near = embeddingDistance(stored.metadata.embedding!, red);
    expect(expected === 'red' ? near < 0.05 : near > 0.5).toBe(true);
    expect([...stored.image.subarray(0, 2)]).toEqual([0xff, 0xd8]); // a JPEG
    expect(agent!.stats().samplesUploaded).toBeGreaterThan(0);
  });

  it('ignores a malformed desired state', async () => {
    const a = agent!;
    const failures: AgentEvent[] = [];
    const off = a.onEvent((e) => e.type === 'model-install-failed' && failures.push(e));
    await server.publishRetained(topics.desired('cam-test-1'), '{"protocol":1,"modelVersion":"two"}');
    await server.publishRetained(topics.desired('cam-test-1'), 'not json at all');
    const prediction = await waitForEvent(a, 'prediction');
    off();
    expect(prediction.prediction.modelVersion).toBe(1);
    expect(failures).toEqual([]);
    expect(a.currentModelVersion()).toBe(1);
  });

  it('refuses forged, replayed, misdirected and future-dated desired states (TUF/Uptane)', async () => {
    const a = agent!;
    publishModel(server, 9, signManifest(unsignedManifest(9, modelBytes), signingKey));
    const trusted = [{ keyId: signingKey.keyId, publicKeyPem: signingKey.publicKeyPem }];
    const requestsBefore = server.fileRequests;
    const desired = (
      overrides: Partial<{ deviceId: string; sequence: number; issuedAt: string }>,
      key: SigningKey = signingKey,
    ) =>
      signDesiredState(
        {
          protocol: PROTOCOL_VERSION,
          modelVersion: 9,
          manifestPath: '/api/v1/models/9/manifest',
          updatedAt: iso(),
          deviceId: 'cam-test-1',
          sequence: server.sequence + 1,
          issuedAt: iso(),
          trustedKeys: trusted,
          ...overrides,
        },
        [key],
      );
    const cases = [
      { state: desired({}, generateSigningKey()), code: 'DESIRED_STATE_UNTRUSTED' },
      { state: desired({ sequence: server.sequence - 1 }), code: 'DESIRED_STATE_REPLAYED' },
      { state: desired({ deviceId: 'cam-test-2' }), code: 'DESIRED_STATE_UNTRUSTED' },
      {
        state: desired({ issuedAt: new Date(Date.now() + 3_600_000).toISOString() }),
        code: 'DESIRED_STATE_FROM_FUTURE',
      },
    ];
    for (const { state, code } of cases) {
      const from = server.messages.length;
      await server.publishRetained(topics.desired('cam-test-1'), JSON.stringify(state));
      await server.waitForMessage(
        (m) => m.topic === topics.events('cam-test-1') && String(m.payload.message).includes(code),
        `a ${code} event`,
        from,
      );
    }
    expect(server.fileRequests).toBe(requestsBefore);
    expect(a.currentModelVersion()).toBe(1);
    // The genuine desired state again (retained), so later tests start from it.
    await server.assign('cam-test-1', 1);
  });

  it('refuses tampered, corrupt and untrusted models and keeps running version 1', async () => {
    const a = agent!;
    const other = generateSigningKey();
    const signed2 = signManifest(unsignedManifest(2, modelBytes), signingKey);
    const cases: { version: number; manifest: Manifest; code: string }[] = [
      { version: 2, manifest: { ...signed2, labels: ['blue', 'red'] }, code: 'MANIFEST_SIGNATURE_INVALID' },
      {
        version: 3,
        manifest: signManifest(
          unsignedManifest(3, modelBytes, {
            files: [
              {
                name: 'model.onnx',
                role: 'model',
                sha256: sha256Hex(Buffer.from('other')),
                bytes: modelBytes.length,
              },
            ],
          }),
          signingKey,
        ),
        code: 'CHECKSUM_MISMATCH',
      },
      {
        version: 4,
        manifest: signManifest(unsignedManifest(4, modelBytes), other),
        code: 'MANIFEST_UNTRUSTED_KEY',
      },
    ];
    for (const c of cases) {
      publishModel(server, c.version, c.manifest);
      const from = server.messages.length;
      const failed = waitForEvent(a, 'model-install-failed', (e) => e.modelVersion === c.version);
      await server.assign('cam-test-1', c.version);
      expect((await failed).code).toBe(c.code);
      expect(a.currentModelVersion()).toBe(1);
      await server.waitForMessage(
        (m) =>
          m.topic === topics.events('cam-test-1') &&
          m.payload.type === 'model-install-failed' &&
          m.payload.modelVersion === c.version,
        `install-failed event for v${c.version}`,
        from,
      );
      const state = await server.waitForMessage(
        (m) => m.topic === topics.state('cam-test-1') && String(m.payload.detail ?? '').includes(c.code),
        `state detail naming ${c.code}`,
        from,
      );
      expect(state.payload).toMatchObject({ modelVersion: 1, status: 'error' });
      // Still classifying with version 1.
      const prediction = await waitForEvent(a, 'prediction');
      expect(prediction.prediction.modelVersion).toBe(1);
    }
    // No bytes of the corrupt file were kept, and version 1's slot was never touched.
    expect(await readdir(join(config.dataDir, 'models', 'b'))).not.toContain('model.onnx');
    expect(await readdir(join(config.dataDir, 'models', 'a'))).toContain('model.onnx');
    const from = server.messages.length;
    await server.assign('cam-test-1', 1); // the operator puts the assignment back
    await server.waitForMessage(
      (m) =>
        m.topic === topics.state('cam-test-1') &&
        m.payload.status === 'running' &&
        m.payload.detail === undefined,
      'state back to running',
      from,
    );
  });

  it('refuses a downgrade unless a rollback manifest signed for the ordered rollback says so', async () => {
    const a = agent!;
    publishModel(server, 5, signManifest(unsignedManifest(5, modelBytes), signingKey));
    const installed5 = waitForEvent(a, 'model-installed', (e) => e.modelVersion === 5);
    await server.assign('cam-test-1', 5);
    expect((await installed5).previousVersion).toBe(1);

    const refused = waitForEvent(a, 'model-install-failed', (e) => e.modelVersion === 1);
    await server.assign('cam-test-1', 1);
    expect((await refused).code).toBe('MANIFEST_DOWNGRADE');
    expect(a.currentModelVersion()).toBe(5);

    // A rollback manifest signed for an earlier order (replayed) does not move the device back.
    const rollbackPath = '/api/v1/models/1/rollback-manifest';
    server.manifests.set(
      rollbackPath,
      signManifest(
        unsignedManifest(1, modelBytes, { rollback: true, rollbackOrder: 'rollout:old' }),
        signingKey,
      ),
    );
    const replayed = waitForEvent(a, 'model-install-failed', (e) => e.modelVersion === 1);
    await server.assign('cam-test-1', 1, rollbackPath, 'rollout:r2');
    expect((await replayed).code).toBe('MANIFEST_DOWNGRADE');
    expect(a.currentModelVersion()).toBe(5);

    server.manifests.set(
      rollbackPath,
      signManifest(
        unsignedManifest(1, modelBytes, { rollback: true, rollbackOrder: 'rollout:r2' }),
        signingKey,
      ),
    );
    const downloads = server.fileRequests;
    const rolledBack = waitForEvent(a, 'model-installed', (e) => e.modelVersion === 1);
    await server.assign('cam-test-1', 1, rollbackPath, 'rollout:r2');
    expect((await rolledBack).previousVersion).toBe(5);
    expect(server.fileRequests).toBe(downloads); // version 1 was still on disk
  });

  it('keeps queued samples across a restart while the server is down and uploads them later', async () => {
    await server.stopHttp();
    let a = agent!;
    for (let i = 0; i < 3; i++) await waitForEvent(a, 'sample-queued');
    await a.close();
    agent = null;
    const offline = server.messages.filter((m) => m.topic === topics.status('cam-test-1')).at(-1);
    expect(offline?.payload.online).toBe(false);

    const queueDir = join(config.dataDir, 'queue');
    const queued = (await readdir(queueDir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    expect(queued.length).toBeGreaterThanOrEqual(3);
    expect(queued.every((key) => !server.samples.has(key))).toBe(true);

    // Restart with the HTTP API still down: the model comes from disk, the queue from the folder.
    const downloadsBefore = server.fileRequests;
    a = await start();
    agent = a;
    expect(a.currentModelVersion()).toBe(1);
    expect(a.stats().samplesQueued).toBeGreaterThanOrEqual(queued.length);
    await waitForEvent(a, 'prediction', (e) => e.prediction.modelVersion === 1);

    const pending = new Set(queued);
    const allUploaded = withTimeout(
      new Promise<void>((resolve) => {
        a.onEvent((e) => {
          if (e.type === 'sample-uploaded' && pending.delete(e.idempotencyKey) && pending.size === 0)
            resolve();
        });
      }),
      'queued samples to upload after the restart',
    );
    await server.startHttp();
    await allUploaded;
    for (const key of queued) expect(server.samples.get(key)?.deviceId).toBe('cam-test-1');
    expect(server.fileRequests).toBe(downloadsBefore); // version 1 was not downloaded again
  });

  it('restarts and runs its active model without any network', async () => {
    await agent!.close();
    agent = null;
    await server.close();
    agent = await start();
    expect(agent.currentModelVersion()).toBe(1);
    const red = await waitForEvent(agent, 'prediction', (e) => e.prediction.frameId === 'a-red.jpg');
    const blue = await waitForEvent(agent, 'prediction', (e) => e.prediction.frameId === 'b-blue.jpg');
    expect(red.prediction.topK[0].label).toBe('red');
    expect(blue.prediction.topK[0].label).toBe('blue');
    expect(red.prediction.modelVersion).toBe(1);
  });
});
