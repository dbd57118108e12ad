/**
 * Admin client for the learning loop's API (labelling, datasets, versions, registry, pipeline).
 * Every call names its actor in `X-Edgeloop-Actor`, so the control plane records who did it.
 */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';
import {
  ACTOR_HEADER,
  BulkConfirmResponseSchema,
  DatasetImageSchema,
  type DatasetImport,
  DatasetImportResultSchema,
  DatasetVersionEntrySchema,
  DatasetVersionSchema,
  type LabelAction,
  LabelledSampleSchema,
  LabelQueueSchema,
  ModelAliasSchema,
  ModelComparisonSchema,
  ModelDetailsSchema,
  PromotionDecisionSchema,
} from '../schemas/loop.ts';
import { ApiClient } from './api-client.ts';

const enc = encodeURIComponent;

export class LoopApiClient extends ApiClient {
  constructor(
    baseUrl: string,
    adminToken: string,
    readonly actor = 'admin',
  ) {
    super(baseUrl, adminToken);
  }

  protected override extraHeaders(): Record<string, string> {
    return { [ACTOR_HEADER]: this.actor };
  }

  /** Any admin GET validated with `schema` (for commands whose calls need no helper of their own). */
  getJson<S extends z.ZodType>(schema: S, path: string): Promise<z.infer<S>> {
    return this.json(schema, 'GET', path);
  }

  sendJson<S extends z.ZodType>(
    schema: S,
    method: 'POST' | 'PUT',
    path: string,
    body?: unknown,
  ): Promise<z.infer<S>> {
    return this.json(schema, method, path, body);
  }

  labelQueue(limit = 50) {
    return this.json(LabelQueueSchema, 'GET', `/api/v1/labelling/queue?limit=${limit}`);
  }

  labelAction(sampleId: string, action: Omit<LabelAction, 'protocol' | 'newClass'> & { newClass?: boolean }) {
    return this.json(LabelledSampleSchema, 'POST', `/api/v1/labelling/samples/${enc(sampleId)}`, {
      protocol: PROTOCOL_VERSION,
      ...action,
    });
  }

  bulkConfirm(sampleIds: string[]) {
    return this.json(BulkConfirmResponseSchema, 'POST', '/api/v1/labelling/bulk-confirm', {
      protocol: PROTOCOL_VERSION,
      sampleIds,
    });
  }

  addDatasetImage(dataset: string, label: string, bytes: Uint8Array, source: string) {
    const form = new FormData();
    form.set('label', label);
    form.set('source', source);
    form.set('image', new Blob([bytes]), source.split('/').pop() ?? 'image');
    return this.json(
      z.object({ image: DatasetImageSchema, duplicate: z.boolean() }),
      'POST',
      `/api/v1/datasets/${enc(dataset)}/images`,
      form,
    );
  }

  importDataset(dataset: string, source: DatasetImport['source']) {
    return this.json(DatasetImportResultSchema, 'POST', `/api/v1/datasets/${enc(dataset)}/import`, {
      protocol: PROTOCOL_VERSION,
      source,
    });
  }

  createDatasetVersion(options: { base?: string; until?: string } = {}) {
    return this.json(DatasetVersionSchema, 'POST', '/api/v1/dataset-versions', {
      protocol: PROTOCOL_VERSION,
      ...options,
    });
  }

  async listDatasetVersions() {
    return (
      await this.json(
        z.object({ versions: z.array(DatasetVersionSchema) }),
        'GET',
        '/api/v1/dataset-versions',
      )
    ).versions;
  }

  datasetVersion(id: string) {
    return this.json(
      z.object({ version: DatasetVersionSchema, entries: z.array(DatasetVersionEntrySchema) }),
      'GET',
      `/api/v1/dataset-versions/${enc(id)}`,
    );
  }

  async datasetVersionImage(id: string, sha256: string): Promise<Uint8Array> {
    const res = await this.request('GET', `/api/v1/dataset-versions/${enc(id)}/images/${enc(sha256)}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  setAlias(alias: string, modelVersion: number) {
    return this.json(ModelAliasSchema, 'PUT', `/api/v1/aliases/${enc(alias)}`, {
      protocol: PROTOCOL_VERSION,
      modelVersion,
    });
  }

  async listAliases() {
    return (await this.json(z.object({ aliases: z.array(ModelAliasSchema) }), 'GET', '/api/v1/aliases'))
      .aliases;
  }

  compareModels(a: string, b: string) {
    return this.json(ModelComparisonSchema, 'GET', `/api/v1/models/compare?a=${enc(a)}&b=${enc(b)}`);
  }

  promoteModel(ref: string, rule: { margin?: number; tolerance?: number } = {}) {
    return this.json(PromotionDecisionSchema, 'POST', `/api/v1/models/${enc(ref)}/promote`, {
      protocol: PROTOCOL_VERSION,
      ...rule,
    });
  }

  modelDetails(ref: string) {
    return this.json(ModelDetailsSchema, 'GET', `/api/v1/models/${enc(ref)}/details`);
  }
}
