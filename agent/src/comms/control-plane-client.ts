/**
 * The agent's HTTP calls to the control plane (fetch, Basic auth with the device's credentials).
 * Every JSON answer is validated with its schema from shared before anyone uses it.
 */
import {
  type DesiredState,
  DesiredStateSchema,
  type EnrollRequest,
  type EnrollResponse,
  EnrollResponseSchema,
  parseWith,
  type SampleMetadata,
  SampleUploadResponseSchema,
} from '@edgeloop/shared';
import { httpErrorFrom, NetworkError } from './http-error.ts';

/** API paths, in one place (docs/protocol.md). */
export const apiPaths = {
  enroll: '/api/v1/devices/enroll',
  desired: '/api/v1/device/desired',
  modelFile: (version: number, name: string) => `/api/v1/models/${version}/files/${encodeURIComponent(name)}`,
  samples: '/api/v1/samples',
} as const;

export interface DeviceCredentials {
  deviceId: string;
  secret: string;
}

export interface ControlPlaneClientOptions {
  /** Timeout of one JSON request (ms). File downloads are bounded by the caller's signal instead. */
  timeoutMs?: number;
}

export type SampleUploadResponse = ReturnType<typeof SampleUploadResponseSchema.parse>;

export class ControlPlaneClient {
  private readonly timeoutMs: number;

  constructor(
    readonly baseUrl: string,
    private readonly credentials: DeviceCredentials | null,
    options: ControlPlaneClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  withCredentials(credentials: DeviceCredentials): ControlPlaneClient {
    return new ControlPlaneClient(this.baseUrl, credentials, { timeoutMs: this.timeoutMs });
  }

  private async send(
    method: string,
    path: string,
    init: {
      body?: string | FormData;
      headers?: Record<string, string>;
      signal?: AbortSignal;
      timeoutMs?: number | null;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.credentials) {
      const token = Buffer.from(`${this.credentials.deviceId}:${this.credentials.secret}`).toString('base64');
      headers.authorization = `Basic ${token}`;
    }
    const signals = [
      init.signal,
      init.timeoutMs === null ? undefined : AbortSignal.timeout(init.timeoutMs ?? this.timeoutMs),
    ];
    const what = `${method} ${path}`;
    let res: Response;
    try {
      // Concatenated, not resolved: keeps a base path prefix and a '//host' path cannot change hosts.
      res = await fetch(`${this.baseUrl.replace(/\/+$/, '')}${path}`, {
        method,
        headers,
        body: init.body,
        signal: AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined)),
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      // fetch() says only 'fetch failed'; the reason (ECONNREFUSED, timeout…) is in its cause.
      const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
      throw new NetworkError(`${what}: cannot reach the control plane at ${this.baseUrl}: ${reason}`, err);
    }
    if (!res.ok) throw await httpErrorFrom(res, what);
    return res;
  }

  private async readJson(res: Response, what: string): Promise<unknown> {
    try {
      return await res.json();
    } catch (err) {
      throw new NetworkError(`${what}: response body is not JSON`, err);
    }
  }

  async enroll(request: EnrollRequest): Promise<EnrollResponse> {
    const res = await this.send('POST', apiPaths.enroll, {
      body: JSON.stringify(request),
      headers: { 'content-type': 'application/json' },
    });
    return parseWith(EnrollResponseSchema, await this.readJson(res, 'enroll'), 'enroll response');
  }

  async getDesired(signal?: AbortSignal): Promise<DesiredState> {
    const res = await this.send('GET', apiPaths.desired, { signal });
    return parseWith(DesiredStateSchema, await this.readJson(res, 'GET desired'), 'desired state');
  }

  /** The manifest as raw JSON: verifyManifest, not this client, decides whether to believe it. */
  async getManifest(manifestPath: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.send('GET', manifestPath, { signal });
    return this.readJson(res, `GET ${manifestPath}`);
  }

  /** Starts a file download; `offset` > 0 asks for the rest of the file (HTTP Range, RFC 9110 §14.2). */
  downloadModelFile(
    version: number,
    name: string,
    options: { offset?: number; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (options.offset) headers.range = `bytes=${options.offset}-`;
    return this.send('GET', apiPaths.modelFile(version, name), {
      headers,
      signal: options.signal,
      timeoutMs: null,
    });
  }

  async uploadSample(
    metadata: SampleMetadata,
    jpeg: Uint8Array,
    signal?: AbortSignal,
  ): Promise<SampleUploadResponse> {
    const form = new FormData();
    form.set('metadata', JSON.stringify(metadata));
    form.set('image', new Blob([jpeg], { type: 'image/jpeg' }), `${metadata.idempotencyKey}.jpg`);
    const res = await this.send('POST', apiPaths.samples, { body: form, signal });
    return parseWith(
      SampleUploadResponseSchema,
      await this.readJson(res, 'POST sample'),
      'sample upload response',
    );
  }
}
