/**
 * The agent's HTTP calls to the control plane (Basic auth with the device's credentials), made
 * through the API contract's transport: paths and response schemas come from shared/src/api.
 */
import {
  apiRoutes,
  createTransport,
  type DesiredConfig,
  type DesiredState,
  type EnrollRequest,
  type EnrollResponse,
  matchRoute,
  NetworkError,
  PROTOCOL_VERSION,
  type ResultOf,
  type SampleCommit,
  type SampleMetadata,
  type SampleUploadRequest,
  type SampleUploadSlot,
  type Transport,
  ValidationError,
} from '@edgeloop/shared';
import {
  getPresigned,
  type ObjectStorageAccess,
  ObjectStorageError,
  putPresigned,
} from './presigned-transfer.ts';

export interface DeviceCredentials {
  deviceId: string;
  secret: string;
}

export interface ControlPlaneClientOptions {
  /** Timeout of one JSON request (ms). File downloads are bounded by the caller's signal instead. */
  timeoutMs?: number;
  /** fetch with the agent's CA and client certificate (tls-fetch.ts); the global one otherwise. */
  fetch?: typeof fetch;
  /** How presigned object-storage URLs are fetched (presigned-transfer.ts). */
  objectStorage?: ObjectStorageAccess;
}

export type SampleUploadResponse = ResultOf<typeof apiRoutes.uploadSample>;

/** The manifests a desired state may point at; any other path is refused, not fetched. */
const MANIFEST_ROUTES = [apiRoutes.getManifest, apiRoutes.getRollbackManifest];

export class ControlPlaneClient {
  /** How long a request may wait for an answer (and a download for its next byte). */
  readonly timeoutMs: number;
  private readonly transport: Transport;
  private readonly fetch?: typeof fetch;
  private readonly objectStorage: ObjectStorageAccess;

  constructor(
    readonly baseUrl: string,
    credentials: DeviceCredentials | null,
    options: ControlPlaneClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.fetch = options.fetch;
    this.objectStorage = options.objectStorage ?? {};
    const headers: Record<string, string> = {};
    // A certificate device has no secret: its client certificate authenticates it (mTLS).
    if (credentials?.secret) {
      const token = Buffer.from(`${credentials.deviceId}:${credentials.secret}`).toString('base64');
      headers.authorization = `Basic ${token}`;
    }
    this.transport = createTransport({ baseUrl, headers, timeoutMs: this.timeoutMs, fetch: this.fetch });
  }

  /** The same control plane as this device; `fetch` replaces this client's (a client certificate). */
  withCredentials(credentials: DeviceCredentials, fetch = this.fetch): ControlPlaneClient {
    return new ControlPlaneClient(this.baseUrl, credentials, {
      timeoutMs: this.timeoutMs,
      fetch,
      objectStorage: this.objectStorage,
    });
  }

  /** Replaces this device's secret with `secret` (made by the agent and kept on disk first). */
  rotateSecret(secret: string): Promise<ResultOf<typeof apiRoutes.rotateDeviceSecret>> {
    return this.transport.call(apiRoutes.rotateDeviceSecret, {
      body: { protocol: PROTOCOL_VERSION, secret },
    });
  }

  enroll(request: EnrollRequest): Promise<EnrollResponse> {
    return this.transport.call(apiRoutes.enrollDevice, { body: request });
  }

  getDesired(signal?: AbortSignal): Promise<DesiredState> {
    return this.transport.call(apiRoutes.getDesiredState, { signal });
  }

  getDesiredConfig(signal?: AbortSignal): Promise<DesiredConfig> {
    return this.transport.call(apiRoutes.getDesiredConfig, { signal });
  }

  /** The manifest as raw JSON: verifyManifest, not this client, decides whether to believe it. */
  async getManifest(manifestPath: string, signal?: AbortSignal): Promise<unknown> {
    const match = matchRoute(MANIFEST_ROUTES, manifestPath);
    if (!match)
      throw new ValidationError(`desired state names '${manifestPath}', which is not a manifest route`);
    const res = await this.transport.send(match.route, {
      params: { version: Number(match.params.version) },
      signal,
    });
    try {
      return await res.json();
    } catch (err) {
      throw new NetworkError(`GET ${manifestPath}: response body is not JSON`, err);
    }
  }

  /**
   * Starts a file download; `offset` > 0 asks for the rest of the file (HTTP Range, RFC 9110
   * §14.2). When the control plane redirects to a presigned URL the bytes come from object
   * storage; a URL refused there (expired on a slow link) is asked for again once.
   */
  async downloadModelFile(
    version: number,
    name: string,
    options: { offset?: number; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (options.offset) headers.range = `bytes=${options.offset}-`;
    for (let attempt = 0; ; attempt++) {
      const res = await this.transport.send(apiRoutes.getModelFile, {
        params: { version, name },
        headers,
        signal: options.signal,
        timeoutMs: null,
        redirect: 'manual',
      });
      if (res.status < 300) return res;
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (!location) throw new ValidationError(`model file ${name}: redirect without a Location`);
      try {
        return await getPresigned(this.objectStorage, location, options);
      } catch (err) {
        if (err instanceof ObjectStorageError && err.httpStatus === 403 && attempt === 0) continue;
        throw err;
      }
    }
  }

  /** Where to send a sample: a presigned PUT, or this control plane (POST /samples). */
  requestSampleUpload(request: SampleUploadRequest, signal?: AbortSignal): Promise<SampleUploadSlot> {
    return this.transport.call(apiRoutes.requestSampleUpload, { body: request, signal });
  }

  /** PUTs a sample's bytes to the slot requestSampleUpload gave, with the object-storage trust. */
  putSampleObject(
    slot: Extract<SampleUploadSlot, { transfer: 'presigned' }>,
    bytes: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    return putPresigned(
      this.objectStorage,
      slot,
      bytes,
      signal ? AbortSignal.any([signal, timeout]) : timeout,
    );
  }

  commitSampleUpload(commit: SampleCommit, signal?: AbortSignal): Promise<SampleUploadResponse> {
    return this.transport.call(apiRoutes.commitSampleUpload, { body: commit, signal });
  }

  /** Starts a bundle download from the path a (verified) desired state names; other paths are refused. */
  downloadAgentBundle(path: string, signal?: AbortSignal): Promise<Response> {
    const match = matchRoute([apiRoutes.getAgentBundle], path);
    if (!match)
      throw new ValidationError(`desired state names '${path}', which is not an agent bundle route`);
    return this.transport.send(match.route, {
      params: { version: match.params.version, arch: match.params.arch as 'arm64' | 'x64' },
      signal,
      timeoutMs: null,
    });
  }

  uploadSample(
    metadata: SampleMetadata,
    jpeg: Uint8Array,
    signal?: AbortSignal,
  ): Promise<SampleUploadResponse> {
    const form = new FormData();
    form.set('metadata', JSON.stringify(metadata));
    form.set('image', new Blob([jpeg], { type: 'image/jpeg' }), `${metadata.idempotencyKey}.jpg`);
    return this.transport.call(apiRoutes.uploadSample, { body: form, signal });
  }
}
