/** The tag selector: a `{ tags }` target takes devices having every listed tag, and nothing else. */
import { AssignModelSchema, UpdateDeviceSchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { hasAllTags, normaliseTags } from '../../../control-plane/src/store/device-tags.ts';

describe('device tag selector', () => {
  it('matches only devices that carry all the wanted tags', () => {
    expect(hasAllTags(['outdoor', 'site-a'], ['outdoor'])).toBe(true);
    expect(hasAllTags(['outdoor', 'site-a'], ['site-a', 'outdoor'])).toBe(true);
    expect(hasAllTags(['outdoor'], ['outdoor', 'site-a'])).toBe(false);
    expect(hasAllTags([], ['outdoor'])).toBe(false);
    // An empty selector would select the whole fleet; the schema refuses it (below).
    expect(hasAllTags(['x'], [])).toBe(true);
  });

  it('stores tags sorted and once', () => {
    expect(normaliseTags(['b', 'a', 'b'])).toEqual(['a', 'b']);
  });

  it('accepts a tag target and refuses an empty or malformed one', () => {
    const target = (tags: unknown) =>
      AssignModelSchema.safeParse({ protocol: 1, modelVersion: 1, target: { tags } }).success;
    expect(target(['outdoor', 'site-a'])).toBe(true);
    expect(target([])).toBe(false);
    expect(target(['Has Space'])).toBe(false);
    expect(target(['a', 'a'])).toBe(false);
  });

  it('needs something to change in a device update', () => {
    expect(UpdateDeviceSchema.safeParse({ protocol: 1 }).success).toBe(false);
    expect(UpdateDeviceSchema.safeParse({ protocol: 1, tags: [] }).success).toBe(true);
    expect(UpdateDeviceSchema.safeParse({ protocol: 1, group: 'lobby' }).success).toBe(true);
  });
});
