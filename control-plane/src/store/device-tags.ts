/**
 * Tag selectors: a `{ tags: [...] }` target matches a device that has every one of the tags (an
 * AND, like a Kubernetes label selector), so adding a tag to a target only ever narrows it.
 * Tags are stored twice: `devices.tags` (a JSON array, the record the API returns) and one row
 * per tag in `device_tags` (what SQL filters and lists on); `replaceDeviceTags` keeps them in step.
 */
import type { SqlDatabase } from './sql.ts';

export function hasAllTags(deviceTags: readonly string[], wanted: readonly string[]): boolean {
  const own = new Set(deviceTags);
  return wanted.every((tag) => own.has(tag));
}

/** Tags as stored: sorted and without repeats, so equal sets compare and display the same. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags)].sort();
}

/**
 * `hasAllTags` as a SQL condition on the device aliased `d`, with one `?` per wanted tag (pass
 * them without repeats); true for no tags.
 */
export function hasAllTagsSql(count: number): string {
  if (count === 0) return '1 = 1';
  const one = 'EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = d.id AND t.tag = ?)';
  return Array.from({ length: count }, () => one).join(' AND ');
}

/** Makes `device_tags` hold exactly these tags of the device; call inside the write that sets devices.tags. */
export async function replaceDeviceTags(
  db: SqlDatabase,
  deviceId: string,
  tags: readonly string[],
): Promise<void> {
  await db.prepare('DELETE FROM device_tags WHERE device_id = ?').run(deviceId);
  const unique = [...new Set(tags)];
  if (unique.length === 0) return;
  await db
    .prepare(`INSERT INTO device_tags (device_id, tag) VALUES ${unique.map(() => '(?, ?)').join(', ')}`)
    .run(...unique.flatMap((tag) => [deviceId, tag]));
}
