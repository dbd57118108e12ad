/**
 * Tag selectors: a `{ tags: [...] }` target matches a device that has every one of the tags (an
 * AND, like a Kubernetes label selector), so adding a tag to a target only ever narrows it.
 */

export function hasAllTags(deviceTags: readonly string[], wanted: readonly string[]): boolean {
  const own = new Set(deviceTags);
  return wanted.every((tag) => own.has(tag));
}

/** Tags as stored: sorted and without repeats, so equal sets compare and display the same. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags)].sort();
}
