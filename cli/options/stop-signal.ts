/**
 * The signal that stops a long-running command (systemd and docker send SIGTERM, a terminal
 * SIGINT). While this listens, the default action (die at once, status 128+n, nothing flushed) is
 * off: the command closes what it runs and exits 0. A second signal while it stops takes the
 * default action again: the way out of a stop that hangs.
 */
export function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
