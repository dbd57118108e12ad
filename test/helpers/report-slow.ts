/**
 * Says on stderr which step of a test's set-up or tear-down is hanging (and what the logs said
 * last), so a hook timeout in CI names its cause instead of only the hook.
 */
export async function reportIfSlow<T>(
  what: string,
  work: Promise<T>,
  details: () => unknown = () => undefined,
  afterMs = 20_000,
): Promise<T> {
  const timer = setTimeout(() => {
    console.error(`[slow] ${what}: still running after ${afterMs} ms`, JSON.stringify(details(), null, 1));
  }, afterMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}
