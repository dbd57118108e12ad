/**
 * Which control-plane replica does the work only one may do at a time: driving rollouts, cron
 * schedules, the retraining pipeline, alert evaluation and webhook delivery, retention. Every
 * replica serves HTTP and records device messages; the leader also runs these duties.
 *
 * The embedded control plane is its own leader from the start (`soleLeadership`). Replicas elect
 * one through a lease in the shared database (`leaseLeadership`): the leader renews it every
 * third of its length; a replica that cannot renew steps down before the lease runs out, so the
 * next leader never overlaps it (clocks agreeing within a small part of the lease, e.g. by NTP); a
 * leader that dies (kill -9, power cut) is replaced once its lease expires.
 *
 * Renewals never wait for the duties: starting them can take long (a new leader republishes every
 * device's retained state), and a renewal held up behind that let the lease lapse, so on a
 * 10,000-device fleet the lead went back and forth every few seconds, each new leader
 * republishing everything again. Duties follow the lease in a queue of their own; `isLeader()` is
 * false as soon as the lease is not held, even while the duties are still being stopped.
 */
import type { Logger } from '@edgeloop/shared';
import { runStopStep } from '../lifecycle/stop-step.ts';
import type { LeaseStore } from '../store/lease-store.ts';

/** Something the leader runs: started on election, stopped on losing the lease or at stop. */
export interface LeaderDuty {
  name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface Leadership {
  readonly replicaId: string;
  isLeader(): boolean;
  /** Registers a duty; must be called before start(). */
  add(duty: LeaderDuty): void;
  start(): Promise<void>;
  /** Stops the duties and hands the lease back. */
  stop(): Promise<void>;
}

function dutyRunner(logger: Logger) {
  const duties: LeaderDuty[] = [];
  return {
    add(duty: LeaderDuty) {
      duties.push(duty);
    },
    async startAll() {
      for (const duty of duties) {
        try {
          await duty.start();
        } catch (err) {
          logger.error({ err, duty: duty.name }, 'leader duty failed to start');
        }
      }
    },
    async stopAll() {
      for (const duty of [...duties].reverse())
        await runStopStep(logger, duty.name, duty.stop, 'stopping a leader duty');
    },
  };
}

/** One process, one leader: duties start with the control plane and stop with it. */
export function soleLeadership(logger: Logger): Leadership {
  const duties = dutyRunner(logger);
  let started = false;
  return {
    replicaId: 'embedded',
    isLeader: () => true,
    add: (duty) => duties.add(duty),
    async start() {
      started = true;
      await duties.startAll();
    },
    async stop() {
      if (!started) return;
      started = false;
      await duties.stopAll();
    },
  };
}

export interface LeaseLeadershipOptions {
  leases: LeaseStore;
  replicaId: string;
  leaseMs: number;
  logger: Logger;
  /** The lease's name; one per cluster. */
  name?: string;
  now?: () => number;
}

export function leaseLeadership(options: LeaseLeadershipOptions): Leadership {
  const { leases, replicaId, leaseMs, logger } = options;
  const name = options.name ?? 'leader';
  const now = options.now ?? Date.now;
  const renewMs = Math.max(50, Math.floor(leaseMs / 3));
  const duties = dutyRunner(logger);
  /** The lease is this replica's as of its last round. */
  let holding = false;
  /** The duties run (or are being started). */
  let leader = false;
  let heldUntil = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopping = false;
  /** Duties start and stop one after another, never interleaved, following `holding`. */
  let transition: Promise<void> = Promise.resolve();

  const holds = () => holding && now() < heldUntil;
  /** Brings the duties in line with the lease once the transitions queued before it are done. */
  const follow = (why: string) => {
    transition = transition.then(async () => {
      const to = holds();
      if (leader === to) return;
      leader = to;
      if (to) {
        logger.info({ replicaId, leaseMs }, 'elected leader');
        await duties.startAll();
      } else {
        logger.warn({ replicaId, reason: why }, 'no longer leader');
        await duties.stopAll();
      }
    });
    // Each duty's own failure is caught and logged by the runner; this keeps the queue going.
    transition = transition.catch((err) => logger.error({ err, replicaId }, 'leadership change failed'));
    return transition;
  };

  async function round(): Promise<void> {
    const started = now();
    try {
      // A leader waits for its renewal only while its lease still holds (a frozen server or a
      // silently dropped link can leave a statement unanswered for minutes); then it gives up on
      // this round and steps down below. A renewal that lands later only extends a lease nobody
      // acts on, which is safe: the others wait for it to expire.
      const deadline = holding ? heldUntil - renewMs : Number.POSITIVE_INFINITY;
      const held = await withDeadline(leases.acquire(name, replicaId, leaseMs, started), deadline - started);
      if (stopping) return;
      if (held) {
        heldUntil = started + leaseMs;
        holding = true;
        void follow('');
      } else {
        holding = false;
        void follow('another replica holds the lease');
      }
    } catch (err) {
      logger.warn({ err, replicaId }, 'could not renew the leader lease');
    }
    // Not renewed in time (database unreachable or slow): step down while the lease still holds,
    // so no two replicas ever act as leader together.
    if (holding && now() >= heldUntil - renewMs) {
      holding = false;
      void follow('lease not renewed in time');
    }
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      round().finally(schedule);
    }, renewMs);
    timer.unref();
  }

  return {
    replicaId,
    isLeader: () => leader && holds(),
    add: (duty) => duties.add(duty),
    async start() {
      stopping = false;
      await round();
      // Renewing from now on, while the duties of a first election start.
      schedule();
      await transition;
    },
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const was = holding || leader;
      holding = false;
      await follow('stopping');
      if (was) {
        try {
          await leases.release(name, replicaId);
        } catch (err) {
          logger.warn({ err }, 'could not release the leader lease; it expires on its own');
        }
      }
    },
  };
}

class RenewalTimeout extends Error {
  constructor(ms: number) {
    super(`the lease renewal got no answer within ${ms} ms`);
    this.name = 'RenewalTimeout';
  }
}

/** `work`'s result, or a RenewalTimeout once `ms` passed (the work itself is left to finish). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  if (!Number.isFinite(ms)) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RenewalTimeout(Math.round(ms))), Math.max(0, ms));
  });
  // A late rejection of the abandoned work is not an unhandled one.
  work.catch(() => {});
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Something made afresh each time this replica is elected and ended when it stops leading (a
 * notifier that resumes stored deliveries, cron schedules): `current()` is null meanwhile.
 */
export function leaderScoped<T extends { close?(): unknown; stop?(): unknown }>(
  leadership: Leadership,
  name: string,
  make: () => T,
): { current(): T | null } {
  let current: T | null = null;
  leadership.add({
    name,
    start() {
      current = make();
    },
    async stop() {
      const ending = current;
      current = null;
      if (ending?.close) await ending.close();
      else if (ending?.stop) await ending.stop();
    },
  });
  return { current: () => current };
}
