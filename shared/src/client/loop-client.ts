/**
 * The learning loop's calls (labelling, datasets, versions, registry, pipeline) on top of
 * ApiClient. Every call names its actor in `X-Edgeloop-Actor`, so the control plane records who.
 */
import { apiRoutes } from '../api/contract.ts';
import { PROTOCOL_VERSION } from '../protocol.ts';
import type { DatasetImport, LabelAction } from '../schemas/loop.ts';
import { ApiClient } from './api-client.ts';

export class LoopApiClient extends ApiClient {
  labelQueue(limit = 50) {
    return this.call(apiRoutes.getLabelQueue, { query: { limit } });
  }

  labelAction(sampleId: string, action: Omit<LabelAction, 'protocol' | 'newClass'> & { newClass?: boolean }) {
    return this.call(apiRoutes.labelSample, {
      params: { id: sampleId },
      body: { protocol: PROTOCOL_VERSION, ...action },
    });
  }

  bulkConfirm(sampleIds: string[]) {
    return this.call(apiRoutes.bulkConfirm, { body: { protocol: PROTOCOL_VERSION, sampleIds } });
  }

  addDatasetImage(dataset: string, label: string, bytes: Uint8Array, source: string) {
    const form = new FormData();
    form.set('label', label);
    form.set('source', source);
    form.set('image', new Blob([bytes]), source.split('/').pop() ?? 'image');
    return this.call(apiRoutes.addDatasetImage, { params: { name: dataset }, body: form });
  }

  importDataset(dataset: string, source: DatasetImport['source']) {
    return this.call(apiRoutes.importDataset, {
      params: { name: dataset },
      body: { protocol: PROTOCOL_VERSION, source },
    });
  }

  createDatasetVersion(options: { base?: string; until?: string } = {}) {
    return this.call(apiRoutes.createDatasetVersion, { body: { protocol: PROTOCOL_VERSION, ...options } });
  }

  async listDatasetVersions() {
    return (await this.call(apiRoutes.listDatasetVersions)).versions;
  }

  datasetVersion(id: string) {
    return this.call(apiRoutes.getDatasetVersion, { params: { id } });
  }

  async datasetVersionImage(id: string, sha256: string): Promise<Uint8Array> {
    const res = await this.call(apiRoutes.getDatasetVersionImage, { params: { id, sha256 } });
    return new Uint8Array(await res.arrayBuffer());
  }

  setAlias(alias: string, modelVersion: number) {
    return this.call(apiRoutes.setAlias, {
      params: { name: alias },
      body: { protocol: PROTOCOL_VERSION, modelVersion },
    });
  }

  async listAliases() {
    return (await this.call(apiRoutes.listAliases)).aliases;
  }

  compareModels(a: string, b: string) {
    return this.call(apiRoutes.compareModels, { query: { a, b } });
  }

  promoteModel(ref: string, rule: { margin?: number; tolerance?: number } = {}) {
    return this.call(apiRoutes.promoteModel, {
      params: { ref },
      body: { protocol: PROTOCOL_VERSION, ...rule },
    });
  }

  modelDetails(ref: string) {
    return this.call(apiRoutes.getModelDetails, { params: { ref } });
  }

  triggerPipeline() {
    return this.call(apiRoutes.triggerPipeline, { body: { protocol: PROTOCOL_VERSION } });
  }

  async listPipelineRuns() {
    return (await this.call(apiRoutes.listPipelineRuns)).runs;
  }

  pipelineRun(id: string) {
    return this.call(apiRoutes.getPipelineRun, { params: { id } });
  }

  cancelPipelineRun(id: string) {
    return this.call(apiRoutes.cancelPipelineRun, { params: { id } });
  }
}
