/**
 * Manifests with one field tampered, checked the way the agent checks what it installs
 * (verifyManifest from shared, the agent's only gate): every leaf of a signed manifest — version,
 * dates, labels, input contract, each file's name, role, hash and size, the signature's key id
 * and value — is changed in turn. The property: each tampered manifest is refused with a named
 * error; one that verifies, or an error without a code, is a defect.
 */
import {
  canonicalJson,
  EdgeloopError,
  generateSigningKey,
  type Manifest,
  ManifestSchema,
  sha256Hex,
  signManifest,
  verifyManifest,
} from '@edgeloop/shared';
import { mutate, pick, type Rng, randomJson } from './json-values.ts';
import type { Attempt, Recorder } from './recorder.ts';

type Json = unknown;

function leafPaths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => leafPaths(v, [...prefix, k]))];
}

function setAt(root: Json, path: (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  const copy = (Array.isArray(root) ? [...root] : { ...(root as object) }) as Record<string | number, Json>;
  copy[path[0]] = setAt(copy[path[0]], path.slice(1), value);
  return copy;
}

function getAt(root: Json, path: (string | number)[]): Json {
  return path.reduce<Json>((v, k) => (v as Record<string | number, Json>)?.[k], root);
}

function tamper(value: Json, rng: Rng): Json {
  if (typeof value === 'string') {
    if (value.length > 0 && rng() < 0.5) {
      const i = Math.floor(rng() * value.length);
      const c = value.charCodeAt(i);
      return value.slice(0, i) + String.fromCharCode(c === 0x41 ? 0x42 : 0x41) + value.slice(i + 1);
    }
    return pick(rng, ['', `${value}x`, value.toUpperCase(), '../../x']);
  }
  if (typeof value === 'number') return pick(rng, [value + 1, value - 1, -value, 0, 1e12]);
  if (typeof value === 'boolean') return !value;
  return rng() < 0.5 ? mutate(value as never, rng) : randomJson(rng);
}

export function fuzzManifests(recorder: Recorder, rng: Rng, budget: number): Promise<void> {
  const key = generateSigningKey();
  const other = generateSigningKey();
  const model = new Uint8Array(256).map((_, i) => i);
  const manifest: Manifest = signManifest(
    {
      protocol: 1,
      name: 'fuzz',
      modelVersion: 3,
      createdAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      rollback: false,
      architecture: { family: 'mobilenet-v2', quantization: 'int8' },
      labels: ['cat', 'dog'],
      input: {
        name: 'input',
        dtype: 'uint8',
        layout: 'NHWC',
        width: 96,
        height: 96,
        channels: 3,
        colorOrder: 'RGB',
        normalization: { kind: 'none' },
      },
      output: { name: 'probabilities', kind: 'probabilities' },
      files: [{ name: 'model.onnx', role: 'model', sha256: sha256Hex(model), bytes: model.byteLength }],
    } as Manifest,
    key,
  );
  const trustedKeys = [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }];
  const original = canonicalJson(manifest);
  const paths = leafPaths(manifest).filter((p) => p.length > 0);
  const attempts: (() => Promise<Attempt>)[] = [];
  let i = 0;
  /** One tamper the verifier must see; null when the mutation changed nothing it reads. */
  const tryOne = (): Attempt | null => {
    const path = paths[i % paths.length];
    let tampered = setAt(manifest, path, tamper(getAt(manifest, path), rng));
    // A tampered manifest re-signed by a key the device does not trust is refused too.
    if (rng() < 0.1) {
      try {
        tampered = signManifest(tampered as Manifest, other);
      } catch {
        // Not even a manifest any more: the verifier refuses it below.
      }
    }
    // Unknown keys are dropped before the signature is checked, so they cannot change what the
    // agent acts on: only a change to a field the verifier reads is a tamper.
    const parsed = ManifestSchema.safeParse(tampered);
    if (parsed.success && canonicalJson(parsed.data) === original) return null;
    try {
      verifyManifest(tampered, { trustedKeys });
      return {
        rejected: false,
        unexpected: null,
        defect: `manifest with ${path.join('.')} tampered verified`,
      };
    } catch (err) {
      if (err instanceof EdgeloopError) return { rejected: true, unexpected: null };
      return {
        rejected: true,
        unexpected: null,
        defect: `manifest ${path.join('.')}: unnamed ${(err as Error).name}: ${(err as Error).message}`,
      };
    }
  };
  for (let n = 0; n < budget; n++) {
    attempts.push(async () => {
      for (;;) {
        i++;
        const attempt = tryOne();
        if (attempt) return attempt;
      }
    });
  }
  return recorder.batch('manifest', attempts);
}
