/**
 * What starts a pipeline run besides a person: a cron schedule (the only importer of node-cron)
 * and "N labels given since the last run", checked every `labelCheckSeconds`. Both go through
 * the runner's trigger, so they queue behind a run in progress like a manual trigger does.
 */
import { ConfigError, type Logger, type PipelineConfig } from '@edgeloop/shared';
import { schedule, validate } from 'node-cron';
import type { Store } from '../store/store.ts';
import type { PipelineRunner } from './pipeline-runner.ts';
import { PIPELINE_ACTOR } from './pipeline-steps.ts';

export function startPipelineTriggers(deps: {
  config: PipelineConfig;
  store: Store;
  runner: PipelineRunner;
  logger: Logger;
}): { stop(): Promise<void> } {
  const { config, store, runner, logger } = deps;
  const stops: (() => unknown)[] = [];
  const fire = async (trigger: 'schedule' | 'labels') => {
    try {
      await runner.trigger(trigger, PIPELINE_ACTOR);
    } catch (err) {
      logger.error({ err, trigger }, 'could not start a pipeline run');
    }
  };

  if (config.schedule !== undefined) {
    if (!validate(config.schedule))
      throw new ConfigError(`pipeline.schedule '${config.schedule}' is not a cron expression`);
    const task = schedule(config.schedule, () => fire('schedule'), { name: 'edgeloop-pipeline' });
    stops.push(() => task.destroy());
    logger.info({ schedule: config.schedule }, 'pipeline schedule set');
  }

  const threshold = config.newLabelsThreshold;
  if (threshold !== undefined) {
    let checking = false;
    const timer = setInterval(async () => {
      if (checking) return;
      checking = true;
      try {
        const active = (await store.pipeline.runsIn(['queued', 'running'])).length > 0;
        const since = (await store.pipeline.lastRunCreatedAt()) ?? '';
        const labels = await store.labelling.countLabelsSince(since);
        if (!active && labels >= threshold) {
          logger.info({ labels, threshold }, 'enough new labels: starting a pipeline run');
          await fire('labels');
        }
      } catch (err) {
        logger.error({ err }, 'checking for new labels failed');
      } finally {
        checking = false;
      }
    }, config.labelCheckSeconds * 1000);
    timer.unref();
    stops.push(() => clearInterval(timer));
  }

  return {
    async stop() {
      for (const stop of stops.splice(0)) await stop();
    },
  };
}
