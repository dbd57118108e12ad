/**
 * Typed client for the control plane's HTTP API, for people's tools (CLI, demo, benchmarks). Every
 * call goes through the contract (shared/src/api): paths, bodies and response schemas come from
 * the route definitions; errors become EdgeloopErrors carrying the server's code.
 */
import { apiRoutes } from '../api/contract.ts';
import type { RouteDef } from '../api/route.ts';
import { createTransport, type Transport } from '../api/transport.ts';
import type { CallInput, ResultOf } from '../api/types.ts';
import { PROTOCOL_VERSION } from '../protocol.ts';
import type {
  AssignModel,
  CreateEnrollmentToken,
  DeviceSummary,
  ModelVersionSummary,
  Sample,
} from '../schemas/http.ts';
import { ACTOR_HEADER } from '../schemas/loop.ts';
import type { Manifest, UnsignedManifest } from '../schemas/manifest.ts';
import type { CreateRolloutInput, Rollout } from '../schemas/rollout.ts';

/** A call's arguments: optional when the route needs no params and no body. */
export type CallArgs<R extends RouteDef> =
  object extends CallInput<R> ? [input?: CallInput<R>] : [input: CallInput<R>];

export class ApiClient {
  readonly transport: Transport;

  /** `actor` names who acts (X-Edgeloop-Actor); the control plane records it on what changes. */
  constructor(
    readonly baseUrl: string,
    adminToken: string,
    readonly actor = 'admin',
    /** A fetch that trusts a private CA (the global one honours NODE_EXTRA_CA_CERTS). */
    options: { fetch?: typeof fetch } = {},
  ) {
    this.transport = createTransport({
      baseUrl,
      headers: { authorization: `Bearer ${adminToken}`, [ACTOR_HEADER]: actor },
      fetch: options.fetch,
    });
  }

  /** Any route of the contract: `client.call(apiRoutes.getPipelineRun, { params: { id } })`. */
  call<R extends RouteDef>(route: R, ...[input]: CallArgs<R>): Promise<ResultOf<R>> {
    return this.transport.call(route, (input ?? {}) as CallInput<R>);
  }

  createEnrollmentToken(
    options: Partial<Pick<CreateEnrollmentToken, 'uses' | 'ttlSeconds' | 'group' | 'reenroll'>> = {},
  ) {
    return this.call(apiRoutes.createEnrollmentToken, { body: { protocol: PROTOCOL_VERSION, ...options } });
  }

  async listDevices(): Promise<DeviceSummary[]> {
    return (await this.call(apiRoutes.listDevices)).devices;
  }

  async listModels(): Promise<ModelVersionSummary[]> {
    return (await this.call(apiRoutes.listModels)).models;
  }

  getManifest(version: number): Promise<Manifest> {
    return this.call(apiRoutes.getManifest, { params: { version } });
  }

  /** Uploads a model version: the unsigned manifest, its files and optional metrics. */
  publishModel(
    manifest: UnsignedManifest,
    files: Map<string, Uint8Array>,
    metrics?: unknown,
  ): Promise<ModelVersionSummary> {
    const form = new FormData();
    form.set('manifest', JSON.stringify(manifest));
    if (metrics !== undefined) form.set('metrics', JSON.stringify(metrics));
    for (const [name, bytes] of files) form.set(name, new Blob([bytes]), name);
    return this.call(apiRoutes.publishModel, { body: form });
  }

  async assign(modelVersion: number, target: AssignModel['target']): Promise<string[]> {
    const body: AssignModel = { protocol: PROTOCOL_VERSION, modelVersion, target };
    return (await this.call(apiRoutes.assignModel, { body })).devices;
  }

  listSamples(options: { labelled?: boolean; limit?: number; offset?: number } = {}) {
    return this.call(apiRoutes.listSamples, { query: options });
  }

  /** Every sample matching the filter, following pages. */
  async allSamples(options: { labelled?: boolean } = {}): Promise<Sample[]> {
    const out: Sample[] = [];
    for (;;) {
      const page = await this.listSamples({ ...options, limit: 500, offset: out.length });
      out.push(...page.samples);
      if (page.samples.length === 0 || out.length >= page.total) return out;
    }
  }

  async sampleImage(sampleId: string): Promise<{ bytes: Uint8Array; contentType: string }> {
    const res = await this.call(apiRoutes.getSampleImage, { params: { id: sampleId } });
    return {
      bytes: new Uint8Array(await res.arrayBuffer()),
      contentType: res.headers.get('content-type') ?? '',
    };
  }

  createRollout(request: Omit<CreateRolloutInput, 'protocol'>): Promise<Rollout> {
    return this.call(apiRoutes.createRollout, { body: { protocol: PROTOCOL_VERSION, ...request } });
  }

  async listRollouts(): Promise<Rollout[]> {
    return (await this.call(apiRoutes.listRollouts)).rollouts;
  }

  getRollout(rolloutId: string): Promise<Rollout> {
    return this.call(apiRoutes.getRollout, { params: { id: rolloutId } });
  }

  /** pause, resume, abort (rolls updated devices back) or rollback (also after completion). */
  rolloutAction(
    rolloutId: string,
    action: 'pause' | 'resume' | 'abort' | 'rollback',
    reason?: string,
  ): Promise<Rollout> {
    const route = {
      pause: apiRoutes.pauseRollout,
      resume: apiRoutes.resumeRollout,
      abort: apiRoutes.abortRollout,
      rollback: apiRoutes.rollbackRollout,
    }[action];
    return this.call(route, { params: { id: rolloutId }, body: { protocol: PROTOCOL_VERSION, reason } });
  }
}
