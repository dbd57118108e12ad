/**
 * The agent's side of systemd's notify protocol (sd_notify(3)): READY=1 once started, WATCHDOG=1
 * while healthy, STOPPING=1 on the way out. The protocol is one datagram on the unix socket named
 * by $NOTIFY_SOCKET, and Node has no unix datagram sockets; the npm packages that add them
 * (unix-dgram, sd-notify) are native addons that need a compiler on the device or prebuilt
 * binaries per architecture, which a one-file offline install cannot count on. So this adapter runs
 * `systemd-notify`, which every systemd host has. Since systemd 246 it waits (BARRIER=1) until
 * systemd has read the message, so a short-lived sender is no longer mistaken for a stranger; the
 * unit says NotifyAccess=all so a child of the main process may speak for it. Each call is one
 * short process: the watchdog pings every WatchdogSec/2 (15 s by default), not per frame.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '@edgeloop/shared';

export interface ServiceNotifier {
  /** False outside systemd (no $NOTIFY_SOCKET): every call is then a no-op. */
  readonly enabled: boolean;
  /** From $WATCHDOG_USEC: how often to ping (half the deadline), or null when no watchdog is set. */
  readonly watchdogIntervalMs: number | null;
  notify(state: 'READY=1' | 'WATCHDOG=1' | 'STOPPING=1'): Promise<void>;
}

export interface SystemdNotifierOptions {
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** The notify tool; tests may point elsewhere. */
  command?: string;
}

export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  // WATCHDOG_PID names the process systemd expects pings from; another process ignores it.
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(500, Math.floor(usec / 2000));
}

export function createSystemdNotifier(options: SystemdNotifierOptions): ServiceNotifier {
  const env = options.env ?? process.env;
  const command = options.command ?? 'systemd-notify';
  const enabled = Boolean(env.NOTIFY_SOCKET);
  const log = options.logger;
  let warned = false;
  return {
    enabled,
    watchdogIntervalMs: enabled ? watchdogIntervalMs(env, process.pid) : null,
    notify: (state) => {
      if (!enabled) return Promise.resolve();
      return new Promise((resolve) => {
        // --pid: the message speaks for the agent (MAINPID), not for the short-lived tool.
        execFile(command, [`--pid=${process.pid}`, state], { env, timeout: 10_000 }, (err, _out, stderr) => {
          // A missed ping is systemd's to act on (it restarts us); never a reason to crash here.
          if (err && !warned) {
            warned = true;
            log.warn({ err: err.message, stderr: stderr.trim(), state }, 'systemd notification failed');
          } else if (!err) warned = false;
          resolve();
        });
      });
    },
  };
}
