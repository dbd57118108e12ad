/**
 * Typed client for the control plane's admin HTTP API (fetch, no dependencies). Responses are
 * validated with the same schemas the server uses; error bodies become EdgeloopErrors with the
 * server's code, so a CLI prints exactly what the server said.
 */
import { z } from 'zod';
import { EdgeloopError, type ErrorCode, ErrorCodes } from '../errors.ts';
import { PROTOCOL_VERSION } from '../protocol.ts';
import {
  type AssignModel,
  type DeviceSummary,
  DeviceSummarySchema,
  EnrollmentTokenResponseSchema,
  ErrorBodySchema,
  type ModelVersionSummary,
  ModelVersionSummarySchema,
  type Sample,
  SampleSchema,
} from '../schemas/http.ts';
import { type Manifest, ManifestSchema, type UnsignedManifest } from '../schemas/manifest.ts';
import { type CreateRolloutInput, type Rollout, RolloutSchema } from '../schemas/rollout.ts';
import { parseWith } from '../validate.ts';

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly adminToken: string,
  ) {}

  /** Extra headers on every call; LoopApiClient adds the actor. */
  protected extraHeaders(): Record<string, string> {
    return {};
  }

  protected async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {
      ...this.extraHeaders(),
      authorization: `Bearer ${this.adminToken}`,
    };
    let payload: FormData | string | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), { method, headers, body: payload });
    } catch (err) {
      throw new EdgeloopError(
        'UPSTREAM_FAILED',
        `cannot reach the control plane at ${this.baseUrl}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let parsed: z.infer<typeof ErrorBodySchema> | null = null;
      try {
        parsed = ErrorBodySchema.parse(JSON.parse(text));
      } catch {
        parsed = null;
      }
      const code = (
        parsed && parsed.error.code in ErrorCodes ? parsed.error.code : 'UPSTREAM_FAILED'
      ) as ErrorCode;
      throw new EdgeloopError(
        code,
        `${method} ${path} failed (${res.status}): ${parsed?.error.message ?? text.slice(0, 200)}`,
        {
          details: parsed?.error.details,
        },
      );
    }
    return res;
  }

  protected async json<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<z.infer<S>> {
    const res = await this.request(method, path, body);
    return parseWith(schema, await res.json(), `response of ${method} ${path}`);
  }

  createEnrollmentToken(options: { uses?: number; ttlSeconds?: number; group?: string } = {}) {
    return this.json(EnrollmentTokenResponseSchema, 'POST', '/api/v1/enrollment-tokens', {
      protocol: PROTOCOL_VERSION,
      ...options,
    });
  }

  async listDevices(): Promise<DeviceSummary[]> {
    return (await this.json(z.object({ devices: z.array(DeviceSummarySchema) }), 'GET', '/api/v1/devices'))
      .devices;
  }

  async listModels(): Promise<ModelVersionSummary[]> {
    return (
      await this.json(z.object({ models: z.array(ModelVersionSummarySchema) }), 'GET', '/api/v1/models')
    ).models;
  }

  getManifest(version: number): Promise<Manifest> {
    return this.json(ManifestSchema, 'GET', `/api/v1/models/${version}/manifest`);
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
    return this.json(ModelVersionSummarySchema, 'POST', '/api/v1/models', form);
  }

  async assign(modelVersion: number, target: AssignModel['target']): Promise<string[]> {
    const body: AssignModel = { protocol: PROTOCOL_VERSION, modelVersion, target };
    return (await this.json(z.object({ devices: z.array(z.string()) }), 'POST', '/api/v1/assignments', body))
      .devices;
  }

  listSamples(options: { labelled?: boolean; limit?: number; offset?: number } = {}) {
    const q = new URLSearchParams();
    if (options.labelled !== undefined) q.set('labelled', String(options.labelled));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    if (options.offset !== undefined) q.set('offset', String(options.offset));
    return this.json(
      z.object({ samples: z.array(SampleSchema), total: z.number() }),
      'GET',
      `/api/v1/samples?${q}`,
    );
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
    const res = await this.request('GET', `/api/v1/samples/${encodeURIComponent(sampleId)}/image`);
    return {
      bytes: new Uint8Array(await res.arrayBuffer()),
      contentType: res.headers.get('content-type') ?? '',
    };
  }

  labelSample(sampleId: string, label: string, labelledBy = 'admin'): Promise<Sample> {
    return this.json(SampleSchema, 'POST', `/api/v1/samples/${encodeURIComponent(sampleId)}/label`, {
      protocol: PROTOCOL_VERSION,
      label,
      labelledBy,
    });
  }

  async markSamplesUsed(sampleIds: string[], modelVersion: number): Promise<number> {
    if (sampleIds.length === 0) return 0;
    const res = await this.json(z.object({ updated: z.number() }), 'POST', '/api/v1/samples/used', {
      protocol: PROTOCOL_VERSION,
      sampleIds,
      modelVersion,
    });
    return res.updated;
  }

  createRollout(request: Omit<CreateRolloutInput, 'protocol'>): Promise<Rollout> {
    return this.json(RolloutSchema, 'POST', '/api/v1/rollouts', { protocol: PROTOCOL_VERSION, ...request });
  }

  async listRollouts(): Promise<Rollout[]> {
    return (await this.json(z.object({ rollouts: z.array(RolloutSchema) }), 'GET', '/api/v1/rollouts'))
      .rollouts;
  }

  getRollout(rolloutId: string): Promise<Rollout> {
    return this.json(RolloutSchema, 'GET', `/api/v1/rollouts/${encodeURIComponent(rolloutId)}`);
  }

  /** pause, resume, abort (rolls updated devices back) or rollback (also after completion). */
  rolloutAction(
    rolloutId: string,
    action: 'pause' | 'resume' | 'abort' | 'rollback',
    reason?: string,
  ): Promise<Rollout> {
    return this.json(RolloutSchema, 'POST', `/api/v1/rollouts/${encodeURIComponent(rolloutId)}/${action}`, {
      protocol: PROTOCOL_VERSION,
      reason,
    });
  }
}
