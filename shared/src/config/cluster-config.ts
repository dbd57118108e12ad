/**
 * Several control-plane replicas behind one load balancer (docs/guides/past-one-machine.md). Off by
 * default: the embedded, single-process control plane is its own leader.
 */
import { z } from 'zod';

export const ClusterConfigSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Run as one of several replicas: every replica serves HTTP and records device messages (shared MQTT subscriptions), one elected leader drives rollouts, schedules, the pipeline, alerts and retention. Needs an external broker and a store all replicas share.',
      ),
    replicaId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
      .optional()
      .describe(
        'This replica\'s name in logs, the leader lease and its MQTT session (client id control-plane-replica-<id>); keep it the same across restarts so a restarted replica resumes its session. Defaults to "<hostname>-<pid>".',
      ),
    leaseSeconds: z
      .number()
      .min(1)
      .max(300)
      .default(15)
      .describe(
        "How long the leader's lease lasts without renewal (s): a dead leader is replaced after at most this long; renewed every third of it.",
      ),
    sharedSubscriptionGroup: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .default('edgeloop')
      .describe(
        'The MQTT shared-subscription group ($share/<group>/…) the replicas split device messages in.',
      ),
  })
  .prefault({});
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;
