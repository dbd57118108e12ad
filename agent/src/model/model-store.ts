/**
 * Two model slots on disk (A/B, as Mender does for root file systems) and one pointer file:
 *
 *   dataDir/models/a/, dataDir/models/b/   each: the model files + `.manifest.json`
 *   dataDir/active.json                    which slot is live (ActiveModelRecord)
 *
 * A new version is always written into the slot the pointer does not name, so the live model and
 * the previous one (kept for instant rollback) are never touched by a download. A slot is
 * complete only once `.manifest.json` is in it: that file is removed before a download starts and
 * written (atomically) after every file was verified, so a crash at any moment leaves each slot
 * either complete and verified or visibly incomplete — never a partial file taken for a model.
 *
 * A model that ships int8 and fp32 has two variant files. Every other file must verify; a variant
 * file may be missing — rejected at download for a bad hash, or from before devices took both — as
 * long as one variant verifies: the missing one is simply not a choice (model-variants.ts). A slot
 * also keeps `.variant.json`, the variant chosen at install (SlotVariantRecord).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ActiveModelRecord,
  ActiveModelRecordSchema,
  ChecksumError,
  deviceFiles,
  fsyncDir,
  type Manifest,
  type ManifestFile,
  type ModelSlot,
  type ModelVariant,
  modelVariants,
  PRIVATE_DIR_MODE,
  PROTOCOL_VERSION,
  parseJsonWith,
  type SlotVariantRecord,
  SlotVariantRecordSchema,
  type TrustedKey,
  verifyManifest,
  writeFileAtomic,
} from '@edgeloop/shared';

/** Artifact names start with a letter or digit, so these names never collide with a model file. */
const MANIFEST_FILE = '.manifest.json';
/** The manifest a slot is being filled for; lets a restarted download resume (Range) in place. */
const TARGET_FILE = '.target.json';
/** The variant chosen at install (SlotVariantRecord). */
const VARIANT_FILE = '.variant.json';
export const SLOTS: readonly ModelSlot[] = ['a', 'b'];

export function otherSlot(slot: ModelSlot): ModelSlot {
  return slot === 'a' ? 'b' : 'a';
}

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function verifyFiles(dir: string, files: readonly ManifestFile[]): Promise<void> {
  for (const file of files) {
    const path = join(dir, file.name);
    const info = await stat(path);
    if (info.size !== file.bytes) {
      throw new ChecksumError(`${file.name} is ${info.size} bytes, manifest says ${file.bytes}`);
    }
    const digest = await fileSha256(path);
    if (digest !== file.sha256)
      throw new ChecksumError(`${file.name} has sha256 ${digest}, manifest says ${file.sha256}`);
  }
}

/**
 * Checks a slot's files against its manifest: every non-variant file strictly; each variant file
 * that is there (checked by length only when `hashed`: the downloader hashed those bytes). A
 * variant file that fails is removed, so a file on disk is a verified file. Throws unless at least
 * one variant remains.
 */
async function verifySlotFiles(dir: string, manifest: Manifest, hashed: boolean): Promise<void> {
  const variants = new Set(modelVariants(manifest).map((v) => v.file.name));
  const strict = deviceFiles(manifest).filter((f) => !variants.has(f.name));
  if (hashed) {
    for (const file of strict) {
      const size = (await stat(join(dir, file.name))).size;
      if (size !== file.bytes)
        throw new ChecksumError(`${file.name} is ${size} bytes, manifest says ${file.bytes}`);
    }
  } else await verifyFiles(dir, strict);
  let usable = 0;
  let firstError: unknown = null;
  for (const { file } of modelVariants(manifest)) {
    const path = join(dir, file.name);
    if (!(await exists(path))) continue;
    try {
      if (hashed) {
        const size = (await stat(path)).size;
        if (size !== file.bytes)
          throw new ChecksumError(`${file.name} is ${size} bytes, manifest says ${file.bytes}`);
      } else await verifyFiles(dir, [file]);
      usable++;
    } catch (err) {
      firstError ??= err;
      await rm(path, { force: true });
    }
  }
  if (usable === 0) {
    throw firstError ?? new ChecksumError(`no model file of version ${manifest.modelVersion} is in ${dir}`);
  }
}

/** Same version and the same files: a slot filled for one can serve the other. */
function sameContent(a: Manifest, b: Manifest): boolean {
  return (
    a.modelVersion === b.modelVersion &&
    a.files.length === b.files.length &&
    a.files.every((f, i) => f.name === b.files[i].name && f.sha256 === b.files[i].sha256)
  );
}

async function readJsonFile(path: string): Promise<unknown | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

export class ModelStore {
  readonly modelsDir: string;
  private readonly pointerPath: string;

  constructor(readonly dataDir: string) {
    this.modelsDir = join(dataDir, 'models');
    this.pointerPath = join(dataDir, 'active.json');
  }

  slotDir(slot: ModelSlot): string {
    return join(this.modelsDir, slot);
  }

  /** The path of a variant's file (the manifest's `model` file without `variant`). */
  modelFilePath(slot: ModelSlot, manifest: Manifest, variant?: ModelVariant): string {
    const found = modelVariants(manifest).find((v) => variant === undefined || v.variant === variant);
    if (!found)
      throw new ChecksumError(
        `manifest of version ${manifest.modelVersion} lists no ${variant ?? 'model'} model file`,
      );
    return join(this.slotDir(slot), found.file.name);
  }

  /** The variants whose file is in the slot (verified: verifySlotFiles removes one that is not). */
  async variantsPresent(slot: ModelSlot, manifest: Manifest): Promise<ModelVariant[]> {
    const present: ModelVariant[] = [];
    for (const { variant, file } of modelVariants(manifest))
      if (await exists(join(this.slotDir(slot), file.name))) present.push(variant);
    return present;
  }

  /** The variant chosen at install, or null when none is recorded or the record is unreadable. */
  async readVariantChoice(slot: ModelSlot): Promise<SlotVariantRecord | null> {
    const parsed = SlotVariantRecordSchema.safeParse(
      await readJsonFile(join(this.slotDir(slot), VARIANT_FILE)),
    );
    return parsed.success ? parsed.data : null;
  }

  async writeVariantChoice(slot: ModelSlot, record: SlotVariantRecord): Promise<void> {
    await writeFileAtomic(join(this.slotDir(slot), VARIANT_FILE), `${JSON.stringify(record)}\n`);
  }

  /** The pointer, or null when there is none or it cannot be read (start-up then scans the slots). */
  async readPointer(): Promise<ActiveModelRecord | null> {
    let text: string;
    try {
      text = await readFile(this.pointerPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return parseJsonWith(ActiveModelRecordSchema, text, 'active.json');
    } catch {
      return null;
    }
  }

  /** Atomically points at `slot` (write, fsync, rename, fsync dir): the install's commit point. */
  async writePointer(slot: ModelSlot, modelVersion: number, highestVersion: number): Promise<void> {
    const record: ActiveModelRecord = {
      protocol: PROTOCOL_VERSION,
      slot,
      modelVersion,
      highestVersion: Math.max(highestVersion, modelVersion),
      activatedAt: new Date().toISOString(),
    };
    await writeFileAtomic(this.pointerPath, `${JSON.stringify(record)}\n`);
  }

  /**
   * The manifest of a complete slot, re-verified: signature and trusted key are checked again (a
   * file on disk is a boundary too), expiry is not — it guards downloads, not a model already
   * accepted while it was valid. With `checkFiles`, every file is re-hashed too.
   */
  async readSlot(
    slot: ModelSlot,
    trustedKeys: readonly TrustedKey[],
    checkFiles: boolean,
  ): Promise<Manifest | null> {
    const data = await readJsonFile(join(this.slotDir(slot), MANIFEST_FILE));
    if (data === null) return null;
    const createdAt = (data as { createdAt?: unknown }).createdAt;
    try {
      const manifest = verifyManifest(data, {
        trustedKeys,
        now: new Date(typeof createdAt === 'string' ? createdAt : 0),
      });
      if (checkFiles) await verifySlotFiles(this.slotDir(slot), manifest, false);
      return manifest;
    } catch {
      return null;
    }
  }

  /** True when `slot` is complete for exactly this manifest's version and files, re-hashed. */
  async slotHolds(slot: ModelSlot, manifest: Manifest, trustedKeys: readonly TrustedKey[]): Promise<boolean> {
    const held = await this.readSlot(slot, trustedKeys, true);
    return held !== null && sameContent(held, manifest);
  }

  /**
   * Readies `slot` for a download of `manifest`: the slot stops being complete first (its
   * manifest goes, durably), then files that belong to no earlier attempt at the same content go
   * too. Files of an interrupted attempt at the same content stay, so the download resumes.
   */
  async beginDownload(slot: ModelSlot, manifest: Manifest): Promise<string> {
    const dir = this.slotDir(slot);
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await rm(join(dir, MANIFEST_FILE), { force: true });
    await fsyncDir(dir);
    const target = (await readJsonFile(join(dir, TARGET_FILE))) as Manifest | null;
    const resumable = target !== null && Array.isArray(target.files) && sameContent(target, manifest);
    if (!resumable) {
      for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
      await writeFileAtomic(join(dir, TARGET_FILE), JSON.stringify(manifest));
    }
    return dir;
  }

  /**
   * Marks a downloaded slot complete: its manifest is the last thing written. Every file's length
   * is checked, and its hash too unless the caller hashed exactly these bytes as it wrote them
   * (the downloader does, and fsyncs before returning).
   */
  async commitSlot(slot: ModelSlot, manifest: Manifest, options: { hashed?: boolean } = {}): Promise<void> {
    const dir = this.slotDir(slot);
    await verifySlotFiles(dir, manifest, options.hashed === true);
    await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
    await rm(join(dir, TARGET_FILE), { force: true });
  }

  /** Makes a slot incomplete again (e.g. its model failed the smoke test): never offered at start. */
  async invalidateSlot(slot: ModelSlot): Promise<void> {
    const dir = this.slotDir(slot);
    await rm(join(dir, MANIFEST_FILE), { force: true });
    await rm(join(dir, VARIANT_FILE), { force: true });
    await fsyncDir(dir).catch(() => {});
  }
}
