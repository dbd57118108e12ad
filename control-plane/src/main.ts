/**
 * Wiring of the control plane, in start order: keys and token, database, object store, broker,
 * the control plane's own MQTT client, fleet sync, HTTP. close() stops them in reverse.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ControlPlaneConfig,
  createLogger,
  EdgeloopError,
  type Logger,
  PRIVATE_DIR_MODE,
  parseDeviceTopic,
  type TrustedKey,
} from '@edgeloop/shared';
import packageJson from '../package.json' with { type: 'json' };
import { createAgentRolloutEngine } from './agent-versions/agent-rollout-engine.ts';
import { createAlertEngine } from './alerts/alert-engine.ts';
import { createWebhookNotifier, type WebhookNotifier } from './alerts/webhook-notifier.ts';
import { createDeviceAuthenticator } from './auth/device-authenticator.ts';
import { loadOrCreateAdminToken, loadOrCreateSigningKey } from './auth/key-files.ts';
import { openSigningKeyring } from './auth/signing-keyring.ts';
import { leaderScoped } from './cluster/leadership.ts';
import { openLeadership } from './cluster/open-leadership.ts';
import { replicaClientId, replicaSessions } from './cluster/replica-sessions.ts';
import { createChangeFeed } from './dashboard/change-feed.ts';
import { createLiveFrames } from './devices/live-frames.ts';
import { createConvergence } from './fleet/convergence.ts';
import { createDesiredConfigPublisher } from './fleet/desired-config.ts';
import { createDesiredStatePublisher, type DesiredStatePublisher } from './fleet/desired-state.ts';
import { followDeviceMessages } from './fleet/device-messages.ts';
import { createIngestBatcher } from './fleet/ingest-batcher.ts';
import { type App, createApp } from './http/app.ts';
import { startHttpServer } from './http/server.ts';
import { runStopStep } from './lifecycle/stop-step.ts';
import { createCredentialGuard } from './limits/credential-guard.ts';
import { createDeviceQuotas } from './limits/device-quotas.ts';
import { createRetention } from './limits/retention.ts';
import { createControlPlaneMetrics } from './metrics/control-plane-metrics.ts';
import { createManifestSigner } from './models/manifest-signer.ts';
import { createModelRegistry } from './models/model-registry.ts';
import { startBroker } from './mqtt/broker.ts';
import { resolveBroker, resolveHookSecret } from './mqtt/broker-config.ts';
import { type BrokerIdentities, storeBackedIdentities } from './mqtt/broker-identities.ts';
import { createMosquittoDynsec } from './mqtt/mosquitto-dynsec.ts';
import { connectMqtt } from './mqtt/mqtt-client.ts';
import type { ObjectStore } from './object-store/object-store.ts';
import { openObjectStore } from './object-store/open-object-store.ts';
import { withInstalledEdgeloop } from './pipeline/edgeloop-command.ts';
import { createPipelineRunner, type PipelineRunner } from './pipeline/pipeline-runner.ts';
import { pipelineSteps } from './pipeline/pipeline-steps.ts';
import { startPipelineTriggers } from './pipeline/pipeline-triggers.ts';
import { createRolloutEngine } from './rollouts/rollout-engine.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { checkExposure } from './tls/exposure.ts';
import { loadTlsMaterial, type TlsMaterial } from './tls/tls-material.ts';
import { serverTlsOptions, watchTlsFiles } from './tls/tls-reloader.ts';

export interface ControlPlane {
  /** Where the HTTP server actually listens (the real port when config.http.port is 0). */
  httpUrl: string;
  /** The broker in use: the embedded one (real port) or the external one (without credentials). */
  mqttUrl: string;
  /**
   * Device identities on the broker. Device removal and revocation call removeDevice, which makes
   * a managed broker (Mosquitto dynamic security) delete the device's client and disconnect it.
   */
  brokerIdentities: BrokerIdentities;
  adminToken: string;
  /** Devices trust manifests signed by this key. */
  signingPublicKey: TrustedKey;
  /** The CA devices pin under TLS (null without TLS, or with a server certificate from a public CA). */
  serverCa: { pem: string; fingerprint: string } | null;
  store: Store;
  /** Where model files, samples and dataset images live (config.objectStore). */
  objects: ObjectStore;
  /** The retraining pipeline (runs one at a time). */
  pipeline: PipelineRunner;
  /**
   * Publishes devices' stored desired state (signed, retained): what the rollout engines call after
   * changing it, for a program embedding the control plane that changes it itself (a test ordering
   * an agent version the way an aborted agent rollout does).
   */
  desired: Pick<DesiredStatePublisher, 'publish'>;
  /** The HTTP app itself (every route it serves is in `app.routes`). */
  app: App;
  close(): Promise<void>;
}

export interface ControlPlaneDeps {
  logger?: Logger;
  /**
   * Check every HTTP answer against the API contract's documented response, failing the request
   * when they differ. Tests turn it on (EDGELOOP_CHECK_RESPONSES=1, set by vitest.config.ts).
   */
  checkResponses?: boolean;
}

export async function startControlPlane(
  config: ControlPlaneConfig,
  deps: ControlPlaneDeps = {},
): Promise<ControlPlane> {
  const root = deps.logger ?? createLogger({ level: config.logLevel, name: 'edgeloop' });
  const logger = root.child({ component: 'control-plane' });
  const stops: { name: string; run: () => Promise<void> | void }[] = [];
  const onStop = (name: string, run: () => Promise<void> | void) => stops.push({ name, run });
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await runStopStep(logger, stop.name, stop.run);
  };

  // Default pipeline commands run this installation's edgeloop (never npx).
  config = { ...config, pipeline: withInstalledEdgeloop(config.pipeline) };
  try {
    const exposed = checkExposure(config);
    if (exposed.length > 0) {
      logger.warn({ exposed }, 'insecure: plaintext listeners on the network; secrets cross it unencrypted');
    }
    mkdirSync(config.dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // An existing folder made by hand (or by an older version) is closed to others too.
    chmodSync(config.dataDir, PRIVATE_DIR_MODE);
    const store = await openStore(config.store, config.dataDir, root.child({ component: 'store' }));
    onStop('store', () => store.close());
    const keyring = openSigningKeyring(
      config.dataDir,
      loadOrCreateSigningKey(config.dataDir, { devicesEnrolled: (await store.devices.list()).length > 0 }),
    );
    const signingKey = keyring.active;
    const admin = loadOrCreateAdminToken(config.dataDir, config.adminToken);
    const tls: TlsMaterial | null = config.tls ? await loadTlsMaterial(config.tls, config.dataDir) : null;
    const leadership = openLeadership(config, store, root.child({ component: 'cluster' }));
    // Replicas: another one may be connected to devices; their retained status tells who is.
    if (!config.cluster.enabled) {
      // Nobody is connected yet; retained status messages and new connections tell us who is.
      await store.devices.markAllOffline();
    }
    const retention = createRetention({
      store,
      config: config.retention,
      logger: root.child({ component: 'retention' }),
    });
    leadership.add({ name: 'retention', start: () => retention.start(), stop: () => retention.stop() });
    const objectStore = openObjectStore(config.objectStore, config.dataDir);
    onStop('object store', () => objectStore.close());
    const { objects } = objectStore;
    // Before the broker, whose refusals it counts; its queue and alert figures are read at scrape time.
    const metrics = createControlPlaneMetrics({
      store,
      alertQueueDepth: () => notifier.current()?.depth() ?? 0,
      openAlerts: () => alerts.openByRule(),
      ingestBuffered: () => ingest.buffered(),
    });
    const guard = createCredentialGuard(config.rateLimits, {
      onRefused: (kind, reason) => metrics.credentialRefused(kind, reason),
      // Replicas share the attempt budgets through the database; one process keeps them in memory.
      ...(config.cluster.enabled ? { buckets: store.rateBuckets } : {}),
    });
    const quotas = createDeviceQuotas(config.quotas, {
      logger: root.child({ component: 'quotas' }),
      onExceeded: (kind) => metrics.quotaExceeded(kind),
    });
    const devices = createDeviceAuthenticator(store, {
      cacheMs: config.auth.credentialCacheSeconds * 1000,
      guard,
      logger: root.child({ component: 'device-auth' }),
    });

    const brokerChoice = resolveBroker(config.mqtt);
    const brokerHookSecret = resolveHookSecret(config.mqtt);
    let brokerUrl: string;
    let service: { username?: string; password?: string } = {};
    const secureServers: { setSecureContext(options: object): void }[] = [];
    let disconnectDevice: ((deviceId: string) => number) | undefined;
    if (brokerChoice.kind === 'external') {
      brokerUrl = brokerChoice.url;
      service = { username: brokerChoice.username, password: brokerChoice.password };
    } else {
      const broker = await startBroker({
        host: config.mqtt.host,
        port: config.tls ? config.tls.mqttPort : config.mqtt.port,
        devices,
        logger: root.child({ component: 'broker' }),
        maxPacketBytes: config.quotas.mqttMaxPacketBytes,
        retainedTopicsPerDevice: config.quotas.retainedTopicsPerDevice,
        onRefused: (reason) => metrics.mqttRefused(reason),
        tls: tls ? serverTlsOptions(tls) : undefined,
      });
      onStop('embedded broker', () => broker.close());
      brokerUrl = broker.url;
      service = broker.service;
      if (broker.secure) secureServers.push(broker.secure);
      disconnectDevice = (id) => broker.disconnect(id);
    }

    // Alerts are notified through a bounded queue that never holds up a request or a message.
    const alertLog = root.child({ component: 'alerts' });
    // Only the leader delivers: it resumes the deliveries the database holds, once, on election.
    const notifier = leaderScoped<WebhookNotifier>(leadership, 'alert notifications', () =>
      createWebhookNotifier({
        webhooks: config.alerts.webhooks,
        delivery: config.alerts.delivery,
        logger: alertLog,
        onOutcome: (outcome) => metrics.alertDelivery(outcome),
        // Unsettled deliveries survive a restart: a notification is resent, not lost.
        store: store.webhookDeliveries,
      }),
    );
    const alerts = createAlertEngine({
      store,
      config: config.alerts,
      notifier: {
        enqueue: (n) => notifier.current()?.enqueue(n),
        depth: () => notifier.current()?.depth() ?? 0,
        idle: () => notifier.current()?.idle() ?? Promise.resolve(),
        close: async () => {},
      },
      logger: alertLog,
    });

    const mqttLog = root.child({ component: 'fleet' });
    // Device state, status, predictions and events are written in batches. Created before the
    // MQTT connection so that it stops after it (no message comes in any more) and before the
    // store closes: what is buffered is written first.
    const ingestLog = root.child({ component: 'ingest' });
    const ingest = createIngestBatcher({
      store,
      config: config.ingest,
      logger: ingestLog,
      // Each committed batch's states in order, off the writer's path (the engines publish over
      // MQTT). Only called once messages flow, after the engines below exist.
      onReportedStates: async (states) => {
        // Each step on its own: one failing must not keep the states from the others.
        const step = async (what: string, work: () => Promise<void>) => {
          try {
            await work();
          } catch (err) {
            ingestLog.error({ err, states: states.length }, `reported states: ${what} failed`);
          }
        };
        for (const { deviceId: id, state, receivedAt: at } of states) {
          if (state.config)
            await step('applied config', () => store.config.recordApplied(id, state.config!, at));
        }
        // Batched: a fleet-wide rollout brings thousands of states a second.
        await step('model rollouts', () => rollouts.onReportedStates(states));
        await step('agent rollouts', () => agentRollouts.onReportedStates(states));
      },
      onDropped: (reason, count) => metrics.ingestDropped(reason, count),
    });
    onStop('ingestion', () => ingest.stop());
    // Never waits for the broker: HTTP serves while it is down, and fleet logic runs on connect.
    const mqttOptions = {
      url: brokerUrl,
      ...service,
      logger: mqttLog,
      // Its own broker, reached on whatever address it bound: the chain is checked, not the name.
      tls: tls && brokerChoice.kind !== 'external' ? { ca: tls.serverCa?.pem, anyName: true } : undefined,
    };
    // Replicas keep their session across a lost connection (cluster/replica-sessions.ts); the
    // embedded broker lives and dies with this process, so there a clean session is all there is.
    const connection = connectMqtt({
      ...mqttOptions,
      ...(config.cluster.enabled
        ? { clientId: replicaClientId(leadership.replicaId), persistent: true }
        : {}),
    });
    onStop('mqtt connection', () => connection.close());
    const brokerIdentities =
      brokerChoice.kind === 'external' && brokerChoice.identities === 'mosquitto-dynsec'
        ? createMosquittoDynsec({
            connection,
            timeoutMs: brokerChoice.commandTimeoutMs,
            logger: root.child({ component: 'broker-identities' }),
          })
        : storeBackedIdentities();
    // Counted as they arrive, valid or not: the figure is traffic, what is stored is counted apart.
    connection.onMessage((topic) => {
      const parsed = parseDeviceTopic(topic);
      if (parsed) metrics.mqttMessage(parsed.kind);
    });
    const desired = createDesiredStatePublisher({ connection, store, keyring, logger: mqttLog });
    const desiredConfig = createDesiredConfigPublisher({ connection, store, logger: mqttLog, desired });
    const signer = createManifestSigner({ store, signingKey, ttlDays: config.manifestTtlDays });
    const convergence = createConvergence({ store, desired, signer, logger: mqttLog });
    const rollouts = createRolloutEngine({
      store,
      desired,
      signer,
      convergence,
      logger: root.child({ component: 'rollouts' }),
      tickMs: config.rollouts.tickMs,
      isLeader: () => leadership.isLeader(),
    });
    const agentRollouts = createAgentRolloutEngine({
      store,
      desired,
      logger: root.child({ component: 'agent-rollouts' }),
      tickMs: config.rollouts.tickMs,
      isLeader: () => leadership.isLeader(),
    });
    const liveFrames = createLiveFrames();
    const follower = followDeviceMessages({
      connection,
      store,
      logger: mqttLog,
      ingest,
      onLiveFrame: (id, frame, at) => liveFrames.put(id, frame, at),
      quotas,
      sharedGroup: config.cluster.enabled ? config.cluster.sharedSubscriptionGroup : undefined,
    });
    // Retained messages do not survive a broker restart: the database is the source of truth.
    // One replica (the leader) republishes and reconciles for all, on connect and on election.
    const republish = async () => {
      await desired.republishAll();
      await desiredConfig.republishAll();
    };
    const reconcile = async () =>
      brokerIdentities.reconcile((await store.devices.list()).map((d) => d.deviceId));
    // Not when the broker resumed our session (a replica's connection dropped, the broker did not
    // restart): it kept its retained messages and identities, and a whole-fleet republish after
    // every dropped connection only loaded a busy broker further.
    connection.onConnect(async () => {
      if (leadership.isLeader() && !connection.resumed()) await republish();
    });
    connection.onConnect(async () => {
      if (leadership.isLeader() && !connection.resumed()) await reconcile();
    });
    if (config.cluster.enabled) {
      const sessions = replicaSessions({
        leases: store.leases,
        replicaId: leadership.replicaId,
        leaseMs: config.cluster.leaseSeconds * 1000,
        logger: root.child({ component: 'cluster' }),
        connect: (clientId, persistent) =>
          connectMqtt({ ...mqttOptions, clientId, persistent, reconnect: false }),
        handle: follower.handle,
        filters: follower.filters,
      });
      await sessions.start();
      // Before the connection's stop (stops run in reverse): its lease then lapses on its own.
      onStop('replica sessions', () => sessions.stop());
      leadership.add(sessions.handover);
      leadership.add({
        name: 'broker state',
        start: async () => {
          if (!connection.ready()) return; // onConnect does it once linked
          await republish();
          await reconcile();
        },
        stop: () => {},
      });
    }
    // The embedded broker is up already; an external one may come later (a warning, not a failure).
    const linked = await connection.whenReady(brokerChoice.kind === 'embedded' ? 30_000 : 3_000);
    if (!linked && brokerChoice.kind === 'embedded') {
      throw new EdgeloopError('INTERNAL', 'could not connect to the embedded MQTT broker');
    }
    if (!linked)
      mqttLog.warn(
        { url: brokerUrl },
        'MQTT broker not reachable yet; serving HTTP and connecting when it is up',
      );

    const models = createModelRegistry({
      store,
      objects,
      signingKey,
      manifestTtlDays: config.manifestTtlDays,
      modelMaxBytes: config.limits.modelMaxBytes,
    });
    const pipelineLog = root.child({ component: 'pipeline' });
    const pipeline = await createPipelineRunner({
      store,
      steps: pipelineSteps({
        store,
        objects,
        models,
        rollouts,
        config: config.pipeline,
        workDir: config.pipeline.workDir ?? join(config.dataDir, 'pipeline'),
        rule: () => ({ margin: config.registry.promotionMargin, tolerance: config.registry.classTolerance }),
        logger: pipelineLog,
        // Cameras may name an alias (`cameras[].model`): their desired state follows it.
        aliasesChanged: () => desired.republishAll(),
      }),
      retries: config.pipeline.retries,
      retryDelayMs: 1000,
      logger: pipelineLog,
    });
    onStop('pipeline', () => pipeline.close());
    leadership.add({ name: 'pipeline', start: () => pipeline.start(), stop: () => pipeline.stop() });
    leaderScoped(leadership, 'pipeline triggers', () =>
      startPipelineTriggers({ config: config.pipeline, store, runner: pipeline, logger: pipelineLog }),
    );
    // Rollouts live in the database; the engine picks running ones up again after a restart.
    leadership.add({ name: 'rollouts', start: () => rollouts.start(), stop: () => rollouts.stop() });
    leadership.add({
      name: 'agent rollouts',
      start: () => agentRollouts.start(),
      stop: () => agentRollouts.stop(),
    });
    // After followDeviceMessages: retained status messages have said who is online by now.
    leadership.add({ name: 'alerts', start: () => alerts.start(), stop: () => alerts.stop() });
    await leadership.start();
    onStop('leader duties', () => leadership.stop());

    const mqttPublicUrl = config.mqtt.publicUrl ?? brokerUrl;
    const changes = createChangeFeed({
      store: store.dashboard,
      intervalMs: 1000,
      logger: root.child({ component: 'dashboard' }),
    });
    const app = createApp({
      changes,
      liveFrames,
      models,
      pipeline,
      config,
      store,
      objects,
      devices,
      desired,
      desiredConfig,
      signingKey,
      keyring,
      signer,
      rollouts,
      agentRollouts,
      tls: tls && {
        deviceCa: tls.deviceCa,
        serverCa: tls.serverCa,
        deviceCertificateDays: config.tls?.deviceCertificateDays ?? 825,
      },
      disconnectDevice,
      convergence,
      alerts,
      metrics,
      guard,
      quotas,
      adminToken: admin.token,
      mqttPublicUrl,
      brokerIdentities,
      brokerHookSecret,
      mqttConnected: () => connection.ready(),
      replica: config.cluster.enabled
        ? () => ({ id: leadership.replicaId, leader: leadership.isLeader() })
        : undefined,
      version: packageJson.version,
      logger: root,
      checkResponses: deps.checkResponses ?? process.env.EDGELOOP_CHECK_RESPONSES === '1',
    });
    const http = await startHttpServer(
      app,
      config.http.host,
      config.http.port,
      tls ? serverTlsOptions(tls) : undefined,
    );
    onStop('http server', () => http.close());
    if (http.secure) secureServers.push(http.secure);
    if (tls && tls.watched.length > 0) {
      const reloader = watchTlsFiles(tls, secureServers, root.child({ component: 'tls' }));
      onStop('tls reloader', () => reloader.close());
    }
    // Runs before http.close(): open event streams end, so the server can close.
    onStop('event stream', () => changes.close());
    logger.info(
      { httpUrl: http.url, mqttUrl: brokerUrl, adminTokenFile: admin.file, objects: objectStore.describe },
      'control plane started',
    );

    return {
      httpUrl: http.url,
      mqttUrl: brokerUrl,
      brokerIdentities,
      adminToken: admin.token,
      signingPublicKey: { keyId: signingKey.keyId, publicKeyPem: signingKey.publicKeyPem },
      serverCa: tls?.serverCa ?? null,
      store,
      objects,
      pipeline,
      desired,
      app,
      async close() {
        await stopAll();
        logger.info('control plane stopped');
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
