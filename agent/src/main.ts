/**
 * Wiring of the device agent, and its start-up order in one function:
 *
 *   execution provider (probed; one the config insists on and cannot load stops start-up) →
 *   TLS trust (CA file, kept CA or pinned fingerprint) → credentials (stored, or enroll once) →
 *   desired-state trust (keys, last sequence) → last good remote config from disk → MQTT link → active
 *   model from disk (no network needed) → desired state over HTTP → desired state over MQTT →
 *   cameras (one shared model) → sample uploader → reports → remote config (HTTP, then MQTT) →
 *   Home Assistant discovery (optional) → local HTTP endpoint (optional)
 *
 * Everything the agent uses is built here and passed down; tests build the same graph with small
 * real parts through `deps`.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentConfig,
  type AppliedConfig,
  ConfigError,
  createLogger,
  type DesiredState,
  type DeviceEvent,
  type DeviceHealth,
  HA_DISCOVERY_PREFIX,
  type Logger,
  PRIVATE_DIR_MODE,
  PROTOCOL_VERSION,
  type Prediction,
  redactText,
  resolveCameras,
  toEdgeloopError,
} from '@edgeloop/shared';
import { AgentBus, type AgentEvent, type AgentEventListener } from './agent-bus.ts';
import type { Camera } from './camera/camera.ts';
import { type CameraSet, type CameraSetDeps, startCameraSet } from './camera/camera-set.ts';
import { ControlPlaneClient } from './comms/control-plane-client.ts';
import { loadOrEnroll, rotateSecretIfDue } from './comms/credentials.ts';
import { DesiredTrust } from './comms/desired-trust.ts';
import { homeAssistantDiscovery } from './comms/home-assistant.ts';
import { LocalEndpoint } from './comms/local-endpoint.ts';
import { MqttLink } from './comms/mqtt-link.ts';
import { objectStorageAccess } from './comms/presigned-transfer.ts';
import { StateReporter } from './comms/state-reporter.ts';
import { createTlsFetch } from './comms/tls-fetch.ts';
import { checkPlaintext, readDeviceKey, readServerCa, resolveServerCa } from './comms/tls-trust.ts';
import { RemoteConfig } from './config/remote-config.ts';
import { applyRemoteConfig } from './config/remote-config-apply.ts';
import { cpuTemperatureC } from './health/device-health.ts';
import type { ImageCodec } from './image/image-codec.ts';
import { createSharpImageCodec } from './image/sharp-image.ts';
import type { FrameLoopStats } from './inference/frame-loop.ts';
import type { InferenceBackend } from './inference/inference-backend.ts';
import { createOnnxBackend } from './inference/onnx-backend.ts';
import { createAgentMetrics } from './metrics/agent-metrics.ts';
import { ActiveModel } from './model/active-model.ts';
import { CameraModels } from './model/camera-models.ts';
import { ConfidenceStats } from './model/confidence-stats.ts';
import { ModelInstaller } from './model/model-installer.ts';
import { ModelStore } from './model/model-store.ts';
import { describeChoice } from './model/model-variants.ts';
import { RecentFrames } from './model/recent-frames.ts';
import { DEFAULT_LOW_CONFIDENCE_THRESHOLD } from './samples/capture-policy.ts';
import { SampleQueue } from './samples/sample-queue.ts';
import { SampleUploader } from './samples/sample-uploader.ts';
import { AgentSlots } from './update/agent-slots.ts';
import { SelfUpdater } from './update/self-updater.ts';
import { type BackoffOptions, DEFAULT_BACKOFF } from './util/backoff.ts';
import { StopStack } from './util/stop-stack.ts';
import { AGENT_VERSION } from './version.ts';

export interface AgentDeps {
  logger?: Logger;
  /** Replaces the first camera of the config (tests). */
  camera?: Camera;
  /** Replace cameras of the config, by id (tests, benchmarks). */
  cameras?: Record<string, Camera>;
  backend?: InferenceBackend;
  codec?: ImageCodec;
  /** Retry timing of installs, uploads and camera restarts (tests shorten it). */
  retry?: BackoffOptions;
  /** Timeout of the agent's JSON HTTP requests, including the start-up desired-state fetch. */
  httpTimeoutMs?: number;
  /** How long a pushed configuration has to prove healthy (every camera delivers) before it is reverted. */
  configDeadlineMs?: number;
  /** Frames every camera must deliver within that deadline after a capture change (default 3). */
  configMinFrames?: number;
}

export interface AgentStats {
  framesProcessed: number;
  samplesQueued: number;
  samplesUploaded: number;
  lastPrediction: Prediction | null;
  /** Heartbeat figures: fps, latency, queue depth, evictions, uptime, temperature. */
  health: DeviceHealth;
  /** Each camera's frame loop figures, in config order. */
  cameras: (FrameLoopStats & { cameraId: string })[];
}

export interface Agent {
  readonly deviceId: string;
  /** Base URL of the local HTTP endpoint when config.http is set. */
  readonly localUrl: string | null;
  currentModelVersion(): number | null;
  /** The configuration the agent runs now: its file config with the remote fragment laid over. */
  currentConfig(): AgentConfig;
  /** What happened to the remote configuration last (as reported in ReportedState.config). */
  configStatus(): AppliedConfig;
  stats(): AgentStats;
  /** Internal bus events (model-installed, model-install-failed, prediction, sample-…); returns an unsubscribe. */
  onEvent(listener: AgentEventListener): () => void;
  /**
   * Resolves (with why) when a self-update switched the code pointer: the caller closes the agent
   * and exits with EXIT_RESTART so the launcher starts the new slot.
   */
  restartRequested(): Promise<string>;
  /** Stops camera, uploads and installs, publishes offline status, releases the model. */
  close(): Promise<void>;
}

export type { AgentEvent, AgentEventListener };

export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<Agent> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel, name: 'edgeloop-agent' });
  const stops = new StopStack(logger);
  try {
    return await assemble(config, deps, logger, stops);
  } catch (err) {
    // Fail fast and leave nothing running: the caller (systemd, a container) restarts a whole agent.
    await stops.run();
    throw err;
  }
}

/** Starts each part in order, registering how to stop it as soon as it runs. */
async function assemble(
  config: AgentConfig,
  deps: AgentDeps,
  logger: Logger,
  stops: StopStack,
): Promise<Agent> {
  const log = (component: string) => logger.child({ component });
  const retry = deps.retry ?? DEFAULT_BACKOFF;
  const codec = deps.codec ?? createSharpImageCodec();
  const backend =
    deps.backend ??
    createOnnxBackend({ executionProviders: config.inference.executionProviders, logger: log('onnx') });
  // 0. The execution provider, before anything else starts: one the config insists on (a list
  // without cpu) that does not load is a start-up error (EXECUTION_PROVIDER_UNAVAILABLE).
  const executionProvider = await backend.prepare();
  const startedAt = performance.now();
  const bus = new AgentBus(log('bus'));
  await mkdir(config.dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // An existing folder made by hand (or by an older version) is closed to others too.
  await chmod(config.dataDir, PRIVATE_DIR_MODE);

  // 1. TLS trust, then credentials: stored ones, or enroll once with the token.
  checkPlaintext(config.controlPlaneUrl, 'controlPlaneUrl', config);
  const serverCa = await resolveServerCa(config, log('tls'));
  const anonymous = new ControlPlaneClient(config.controlPlaneUrl, null, {
    timeoutMs: deps.httpTimeoutMs,
    fetch: serverCa ? createTlsFetch({ ca: serverCa }) : undefined,
    objectStorage: await objectStorageAccess(config),
  });
  const enrolled = await loadOrEnroll(config, anonymous, log('enroll'), { serverCa });
  const deviceId = enrolled.deviceId;
  // Enrollment may have handed over the CA to pin, and a certificate device has its key on disk.
  const identity = {
    ca: serverCa ?? (await readServerCa(config.dataDir)) ?? undefined,
    cert: enrolled.certificate,
    key: enrolled.certificate ? ((await readDeviceKey(config.dataDir)) ?? undefined) : undefined,
  };
  if (enrolled.certificate && !identity.key) {
    throw new ConfigError(
      `enrolled with a certificate but its key is missing from ${config.dataDir}; enroll again`,
    );
  }
  const tlsFetch = identity.ca || identity.cert ? createTlsFetch(identity) : undefined;
  const credentials = await rotateSecretIfDue(
    config,
    enrolled,
    (c) => anonymous.withCredentials(c, tlsFetch),
    log('enroll'),
  );
  const client = anonymous.withCredentials(credentials, tlsFetch);
  const mqttUrl = config.mqttUrl ?? credentials.mqttUrl;
  checkPlaintext(mqttUrl, 'mqttUrl', config);
  // Desired states must be signed by a trusted key, for this device, and not replayed.
  const trust = await DesiredTrust.open({
    dataDir: config.dataDir,
    deviceId,
    configKeys: config.trustedKeys,
    logger: log('desired'),
  });

  // The file config with the last remote configuration that proved healthy laid over it.
  const remote = await RemoteConfig.open({
    local: config,
    dataDir: config.dataDir,
    logger: log('remote-config'),
    deadlineMs: deps.configDeadlineMs,
  });
  const running = remote.current();

  // Local state, all on disk under dataDir.
  const store = new ModelStore(config.dataDir);
  const active = new ActiveModel(log('model'));
  stops.push('model', () => active.close());
  // Field behaviour per model version (for rollout gates) and frames to smoke-test candidates on.
  // One fixed threshold for every version (not each model's recommendation): rollout gates compare
  // versions' low-confidence rates, which only means something against the same threshold.
  const confidence = new ConfidenceStats(
    running.samples.lowConfidenceThreshold ?? DEFAULT_LOW_CONFIDENCE_THRESHOLD,
  );
  const recentFrames = new RecentFrames();
  const queue = await SampleQueue.open(join(config.dataDir, 'queue'), {
    maxQueued: running.samples.maxQueued,
    logger: log('sample-queue'),
  });

  // 2. MQTT: connects (and reconnects) in the background; publishing is queued meanwhile.
  const link = new MqttLink({
    url: mqttUrl,
    deviceId,
    secret: credentials.secret,
    tls: identity,
    logger: log('mqtt'),
  });
  stops.push('mqtt', () => link.close());
  const publishEvent = (
    type: DeviceEvent['type'],
    message: string,
    modelVersion?: number,
    cameraId?: string,
  ) => {
    try {
      link.publishEvent({
        protocol: PROTOCOL_VERSION,
        type,
        // A capture process's error may quote its camera URL: never send its password.
        message: redactText(message).slice(0, 2000),
        modelVersion,
        cameraId,
        at: now(),
      });
    } catch (err) {
      logger.error({ err, type }, 'publishing a device event failed');
    }
  };

  const camerasRef: { current: CameraSet | null } = { current: null };
  // Counters of camera sets replaced by a configuration change, so reports keep counting up.
  const earlier = { framesProcessed: 0, framesDropped: 0, cameraRestarts: 0 };
  const framesProcessed = () =>
    earlier.framesProcessed +
    (camerasRef.current?.stats() ?? []).reduce((sum, s) => sum + s.framesProcessed, 0);
  const health = (): DeviceHealth => {
    const cameras = camerasRef.current?.health() ?? [];
    const sum = (key: 'fps' | 'framesDropped' | 'cameraRestarts') =>
      cameras.reduce((total, c) => total + c[key], 0) + (key === 'fps' ? 0 : earlier[key]);
    // The device's latency is its slowest camera's.
    const worst = (key: 'latencyP50Ms' | 'latencyP95Ms') =>
      cameras.reduce<number | null>((w, c) => (c[key] === null ? w : Math.max(w ?? 0, c[key])), null);
    return {
      fps: Math.round(sum('fps') * 100) / 100,
      latencyP50Ms: worst('latencyP50Ms'),
      latencyP95Ms: worst('latencyP95Ms'),
      framesDropped: sum('framesDropped'),
      cameraRestarts: sum('cameraRestarts'),
      queueDepth: queue.size(),
      evictions: queue.dropped(),
      uptimeS: Math.round((performance.now() - startedAt) / 1000),
      cpuTemperatureC: cpuTemperatureC(),
      cameras,
      inference: {
        executionProvider: active.get()?.session.executionProvider ?? executionProvider,
        variant: active.get()?.variant,
      },
    };
  };
  const reporter = new StateReporter(
    link,
    () => ({
      modelVersion: active.version(),
      framesProcessed: framesProcessed(),
      samplesQueued: queue.size(),
      health: health(),
      modelStats: confidence.summary(),
    }),
    config.reportIntervalMs,
    log('state'),
  );
  // Runs after cameras and uploads stopped: the last report carries the final counters, and
  // link.close() sends it before going offline.
  stops.push('reporter', () => {
    reporter.stop();
    reporter.report();
  });

  const variants = { preference: config.inference.variant, runs: config.inference.variantRuns };
  // Agent self-updates (desired state `agent`): slots beside the launcher's pointer in dataDir/agent.
  // Started before anything reports, so a new agent on trial never reports without saying so.
  let requestRestart: (reason: string) => void = () => {};
  const restartRequested = new Promise<string>((resolve) => {
    requestRestart = resolve;
  });
  const selfUpdater = new SelfUpdater({
    slots: new AgentSlots(join(config.dataDir, 'agent')),
    client,
    trustedKeys: () => trust.trustedKeys(),
    report: (progress) => reporter.setAgentUpdate(progress),
    restart: (reason) => requestRestart(reason),
    healthy: () => link.connected() && reporter.current() !== null,
    runningVersion: AGENT_VERSION,
    arch: process.arch === 'arm64' ? 'arm64' : 'x64',
    // Read once: the launcher's deadline, not a later remote change, bounds this trial.
    healthySeconds: running.updates.agentHealthySeconds,
    retry,
    logger: log('self-update'),
  });
  await selfUpdater.start();
  stops.push('self-update', () => selfUpdater.stop());

  const installer = new ModelInstaller({
    store,
    backend,
    client,
    active,
    // A getter: the trusted keys follow the control plane's key rotation.
    get trustedKeys() {
      return trust.trustedKeys();
    },
    threads: config.inference.threads,
    variants,
    logger: log('installer'),
    retry,
    smokeInput: () => ({ frames: recentFrames.list(), codec }),
    // Getters: the remote configuration may change `updates` while the installer runs.
    shadow: {
      get frames() {
        return remote.current().updates.shadowFrames;
      },
      get timeoutMs() {
        return remote.current().updates.shadowTimeoutMs;
      },
      next: (n, timeoutMs, signal) => recentFrames.next(n, timeoutMs, signal),
      codec,
    },
    hooks: {
      status: (status, detail) => reporter.setStatus(status, detail),
      progress: (update) => reporter.setUpdate(update),
      installed: (modelVersion, previousVersion) => {
        // No report here: the 'active' progress that follows carries the new version.
        publishEvent('model-installed', `installed version ${modelVersion}`, modelVersion);
        cameraModels.deviceModelChanged();
        bus.emit({ type: 'model-installed', modelVersion, previousVersion });
      },
      failed: (modelVersion, error) => {
        publishEvent('model-install-failed', `${error.code}: ${error.message}`, modelVersion ?? undefined);
        bus.emit({ type: 'model-install-failed', modelVersion, code: error.code, message: error.message });
      },
      variantChosen: (choice) =>
        publishEvent('model-variant-chosen', describeChoice(choice), choice.modelVersion),
    },
  });

  stops.push('installer', () => installer.close());

  // Cameras that name another model than the device's (desired state `cameraModels`).
  const cameraModels = new CameraModels({
    dataDir: config.dataDir,
    backend,
    client,
    device: active,
    trustedKeys: config.trustedKeys,
    threads: config.inference.threads,
    variants,
    logger: log('camera-models'),
    retry,
    smokeInput: () => ({ frames: recentFrames.list(), codec }),
    hooks: {
      installed: (modelVersion, cameraIds) => {
        for (const cameraId of cameraIds)
          publishEvent(
            'model-installed',
            `camera '${cameraId}' runs version ${modelVersion}`,
            modelVersion,
            cameraId,
          );
      },
      failed: (modelVersion, cameraIds, error) => {
        for (const cameraId of cameraIds)
          publishEvent(
            'model-install-failed',
            `camera '${cameraId}' keeps the device's model: ${error.code}: ${error.message}`,
            modelVersion,
            cameraId,
          );
      },
      variantChosen: (choice, cameraIds) => {
        for (const cameraId of cameraIds)
          publishEvent(
            'model-variant-chosen',
            `camera '${cameraId}': ${describeChoice(choice)}`,
            choice.modelVersion,
            cameraId,
          );
      },
    },
  });
  stops.push('camera-models', () => cameraModels.close());

  // 3. The model installed last time, from disk: the agent classifies even without a network.
  const restored = await installer.restoreFromDisk();
  if (restored === null && reporter.current()?.status !== 'error') reporter.setStatus('idle');

  // 4. Desired state over HTTP (fails soft: MQTT's retained copy arrives as soon as it connects).
  const offerDesired = (desired: unknown, via: string) => {
    let accepted: DesiredState;
    try {
      accepted = trust.accept(desired);
    } catch (err) {
      const error = toEdgeloopError(err);
      log('desired').warn({ err: error, via }, 'desired state refused');
      publishEvent('model-install-failed', `desired state refused (${error.code}): ${error.message}`);
      return;
    }
    installer.setDesired(accepted);
    cameraModels.setDesired(accepted);
    selfUpdater.setDesired(accepted.agent);
  };
  try {
    offerDesired(await client.getDesired(), 'http');
  } catch (err) {
    log('installer').warn({ err }, 'desired state not available over HTTP; waiting for MQTT');
  }

  // 5. Desired state over MQTT: the retained message first, then every change.
  link.subscribeDesired((desired) => offerDesired(desired, 'mqtt'));

  // 6. Cameras → one shared model (fair turns) → predictions and samples, each with its camera id.
  // Rebuilt (not patched) when the remote configuration changes `camera`, `cameras` or `frames`.
  const cameraDeps = (injected?: Record<string, Camera>): CameraSetDeps => ({
    active,
    codec,
    queue,
    logger: log('camera'),
    retry,
    cameras: injected,
    modelFor: (cameraId) => cameraModels.sourceFor(cameraId),
    sink: {
      classified: (prediction, result) => {
        recentFrames.add(result.frame);
        confidence.record(result.modelVersion, result.topK[0]?.confidence ?? 0, prediction.capturedAt);
        bus.emit({ type: 'prediction', prediction });
      },
      publishPrediction: (prediction) => link.publishPrediction(prediction),
      connected: () => link.connected(),
      publishLiveFrame: (frame) => link.publishLiveFrame(frame),
      event: (type, message, cameraId) => publishEvent(type, message, undefined, cameraId),
      sampleQueued: (metadata, result) =>
        bus.emit({ type: 'sample-queued', idempotencyKey: metadata.idempotencyKey, topK: result.topK }),
      cameraRestart: (cameraId, err, restart) =>
        bus.emit({ type: 'camera-restart', ...restart, cameraId, message: err.message }),
    },
  });
  const startCameras = (settings: AgentConfig, injected?: Record<string, Camera>): CameraSet => {
    camerasRef.current = startCameraSet(settings, cameraDeps(injected));
    return camerasRef.current;
  };
  // Cameras handed in by a test are used until the remote configuration rebuilds the set.
  startCameras(
    running,
    deps.cameras ?? (deps.camera ? { [resolveCameras(running)[0].id]: deps.camera } : undefined),
  );
  stops.push('cameras', () => camerasRef.current?.stop());
  // What the cameras run now; remote configuration changes replace sections of it.
  let settingsNow = running;
  const cameras = {
    ids: () => camerasRef.current?.ids() ?? [],
    stats: () => camerasRef.current?.stats() ?? [],
    latestFrame: (cameraId?: string) => camerasRef.current?.latestFrame(cameraId) ?? null,
    lastPrediction: (cameraId?: string) => camerasRef.current?.lastPrediction(cameraId) ?? null,
  };

  // 7. Sample uploads, most uncertain first.
  const uploader = new SampleUploader({
    queue,
    client,
    logger: log('uploader'),
    retry,
    onUploaded: (entry, response) =>
      bus.emit({
        type: 'sample-uploaded',
        idempotencyKey: entry.key,
        sampleId: response.sampleId,
        duplicate: response.duplicate,
      }),
  });
  uploader.start();
  stops.push('uploader', () => uploader.stop());

  // 8. State reports (the heartbeat): now, on every change and reconnect, and every reportIntervalMs.
  reporter.start();

  // 9. Remote configuration: the copy over HTTP at start (fails soft), then MQTT's retained one and
  // every change. Only what a change touches restarts; a camera that does not deliver frames within
  // the deadline, or an apply that fails, reverts to the last good configuration. A candidate left
  // unconfirmed by the previous run (it stopped during the check) is checked now, first.
  remote.start(
    applyRemoteConfig({
      restartFrameLoop: async (settings) => {
        const old = camerasRef.current;
        if (old) {
          await old.stop();
          for (const st of old.stats()) {
            earlier.framesProcessed += st.framesProcessed;
            earlier.framesDropped += st.framesDropped;
            earlier.cameraRestarts += st.cameraRestarts;
          }
        }
        settingsNow = settings;
        startCameras(settings);
      },
      cameraProgress: () =>
        cameras.stats().map((st) => ({
          cameraId: st.cameraId,
          framesCaptured: st.framesCaptured,
          framesClassified: st.framesProcessed + st.framesStatic,
          failing: st.failing,
          lastError: st.lastError,
        })),
      modelLoaded: () => active.version() !== null,
      minFrames: deps.configMinFrames,
      setSamples: (samples) => {
        settingsNow = { ...settingsNow, samples };
        camerasRef.current?.setSamples(settingsNow);
        queue.setMaxQueued(samples.maxQueued);
        confidence.setLowConfidenceThreshold(
          samples.lowConfidenceThreshold ?? DEFAULT_LOW_CONFIDENCE_THRESHOLD,
        );
      },
      setPredictions: (predictions) => {
        settingsNow = { ...settingsNow, predictions };
        camerasRef.current?.setPredictions(predictions);
      },
      report: (applied) => {
        reporter.setConfig(applied);
        bus.emit({ type: 'config', applied });
      },
      event: (type, message) => publishEvent(type, message),
      logger: log('remote-config'),
    }),
  );
  stops.push('remote config', () => remote.close());
  try {
    remote.offer(await client.getDesiredConfig());
  } catch (err) {
    log('remote-config').warn({ err }, 'remote config not available over HTTP; waiting for MQTT');
  }
  link.subscribeConfig((desired) => remote.offer(desired));

  // 10. Home Assistant discovery, retained, on every connect. The embedded broker's ACL allows only
  // the default prefix; a custom one is published only to a site broker (config.mqttUrl).
  if (config.homeAssistant.enabled) {
    const { discoveryPrefix } = config.homeAssistant;
    if (discoveryPrefix !== HA_DISCOVERY_PREFIX && !config.mqttUrl) {
      logger.error(
        { discoveryPrefix },
        'homeAssistant.discoveryPrefix other than "homeassistant" needs a site broker (mqttUrl); discovery not published',
      );
    } else {
      const discovery = homeAssistantDiscovery(deviceId, {
        name: config.name,
        prefix: discoveryPrefix,
        cameraIds: cameras.ids(),
      });
      const publish = () => {
        for (const m of discovery) link.publishDiscovery(m.topic, m.payload);
      };
      link.onConnect(publish);
      if (link.connected()) publish();
    }
  }

  // 11. Local HTTP endpoint: health, model, last prediction, last frame, Prometheus metrics.
  const metrics = config.http
    ? createAgentMetrics({
        deviceId,
        agentVersion: AGENT_VERSION,
        bus,
        health,
        framesProcessed,
        modelVersion: () => active.version(),
        mqttConnected: () => link.connected(),
      })
    : null;
  stops.push('metrics', () => metrics?.close());
  const endpoint = config.http
    ? await LocalEndpoint.start(
        {
          deviceId,
          manifest: () => active.get()?.manifest ?? null,
          lastPrediction: (cameraId) => cameras.lastPrediction(cameraId),
          latestFrame: (cameraId) => cameras.latestFrame(cameraId),
          toJpeg: (frame) => codec.toJpeg(frame.image, frame.mime),
          health,
          mqttConnected: () => link.connected(),
          metrics: metrics ? () => metrics.render() : undefined,
        },
        { ...config.http, logger: log('local-endpoint') },
      )
    : null;
  stops.push('local endpoint', () => endpoint?.close());
  logger.info({ deviceId, modelVersion: active.version(), queued: queue.size() }, 'agent started');

  let closing: Promise<void> | null = null;
  return {
    deviceId,
    localUrl: endpoint?.url ?? null,
    currentModelVersion: () => active.version(),
    currentConfig: () => remote.current(),
    configStatus: () => remote.applied(),
    stats: () => ({
      framesProcessed: framesProcessed(),
      samplesQueued: queue.size(),
      samplesUploaded: uploader.uploaded(),
      lastPrediction: cameras.lastPrediction(),
      health: health(),
      cameras: cameras.stats(),
    }),
    onEvent: (listener) => bus.on(listener),
    restartRequested: () => restartRequested,
    close() {
      closing ??= stops.run().then(() => logger.info({ deviceId }, 'agent stopped'));
      return closing;
    },
  };
}

function now(): string {
  return new Date().toISOString();
}
