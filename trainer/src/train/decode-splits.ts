/** Decodes a split's images at the model's input size; failures are skipped with their reason. */
import type { DatasetItem } from '../data/dataset.ts';
import { DEFAULT_MAX_PIXELS, decodeResized } from '../data/image-decoder.ts';
import type { EncodedSet } from './batches.ts';

export type DecodedSplit = EncodedSet & { items: DatasetItem[] };

/** Short, stable reasons for the report; the decoder's own message stays in parentheses. */
function reasonFor(err: Error, maxPixels: number): string {
  if (/pixel limit/i.test(err.message)) return `larger than the pixel limit (${maxPixels} pixels)`;
  return `unreadable image (${err.message})`;
}

export async function decodeSplit(
  items: DatasetItem[],
  labels: string[],
  size: number,
  skipped: { path: string; reason: string }[],
  maxPixels = DEFAULT_MAX_PIXELS,
  onProgress: (done: number) => void = () => {},
): Promise<DecodedSplit> {
  const out: DecodedSplit = { size, images: [], labels: [], hashes: [], items: [] };
  for (const [n, item] of items.entries()) {
    try {
      const img = await decodeResized(item.path, { width: size, height: size }, maxPixels);
      out.images.push(img.data);
      out.labels.push(labels.indexOf(item.label));
      out.hashes.push(item.sha256);
      out.items.push(item);
    } catch (err) {
      skipped.push({ path: item.path, reason: reasonFor(err as Error, maxPixels) });
    }
    if (n % 50 === 49) onProgress(n + 1);
  }
  return out;
}
