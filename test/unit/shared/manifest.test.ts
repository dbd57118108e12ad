import {
  canonicalJson,
  EdgeloopError,
  generateSigningKey,
  keyIdOf,
  type Manifest,
  signManifest,
  verifyManifest,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { testManifest } from '../../helpers/manifest-fixture.ts';

function unsigned(overrides: Partial<Manifest> = {}): Manifest {
  return testManifest(
    new Uint8Array(),
    {
      name: 'shapes',
      modelVersion: 3,
      createdAt: '2026-11-01T00:00:00.000Z',
      expiresAt: '2027-11-01T00:00:00.000Z',
      architecture: { family: 'mobilenet_v1', alpha: 0.25, inputSize: 64, quantization: 'fp32' },
      labels: ['circle', 'square'],
      files: [{ name: 'model.onnx', role: 'model', sha256: 'a'.repeat(64), bytes: 1234 }],
      ...overrides,
    },
    64,
  );
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EdgeloopError);
    return (err as EdgeloopError).code;
  }
  throw new Error('expected an error');
}

const now = new Date('2026-11-22T00:00:00.000Z');

describe('model manifest', () => {
  const key = generateSigningKey();
  const trustedKeys = [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }];

  it('verifies a manifest signed with a trusted key', () => {
    const signed = signManifest(unsigned(), key);
    expect(signed.signature?.keyId).toBe(keyIdOf(key.publicKeyPem));
    expect(verifyManifest(JSON.parse(JSON.stringify(signed)), { trustedKeys, now }).modelVersion).toBe(3);
  });

  it('rejects an unsigned manifest', () => {
    expect(codeOf(() => verifyManifest(unsigned(), { trustedKeys, now }))).toBe('MANIFEST_UNSIGNED');
  });

  it('rejects any tampered field', () => {
    const signed = signManifest(unsigned(), key);
    const tampered: Manifest[] = [
      { ...signed, modelVersion: 4 },
      { ...signed, labels: ['circle', 'squares'] },
      { ...signed, files: [{ ...signed.files[0], sha256: 'b'.repeat(64) }] },
      { ...signed, expiresAt: '2099-01-01T00:00:00.000Z' },
      { ...signed, rollback: true },
    ];
    for (const m of tampered) {
      expect(codeOf(() => verifyManifest(m, { trustedKeys, now }))).toBe('MANIFEST_SIGNATURE_INVALID');
    }
  });

  it('accepts only the canonical base64 of a signature (found by bench fuzz)', () => {
    const signed = signManifest(unsigned(), key);
    const value = signed.signature!.value;
    // Node's decoder ignores unknown characters and padding bits: each of these decodes to the
    // same 64 bytes, so without the canonical check each one verified.
    const last = value.indexOf('=') - 1;
    const variants = [
      `${value.slice(0, last)}${String.fromCharCode(value.charCodeAt(last) + 1)}${value.slice(last + 1)}`,
      `${value}*`,
      value.replace(/=+$/, ''),
      ` ${value}`,
    ];
    for (const v of variants) {
      const m = { ...signed, signature: { ...signed.signature!, value: v } };
      expect(
        codeOf(() => verifyManifest(m, { trustedKeys, now })),
        v,
      ).toBe('MANIFEST_SIGNATURE_INVALID');
    }
    expect(verifyManifest(signed, { trustedKeys, now }).modelVersion).toBe(signed.modelVersion);
  });

  it("covers the model's recommended capture thresholds: a changed threshold fails verification", () => {
    const confidence = {
      temperature: 1.4,
      targetCaptureRate: 0.1,
      lowConfidenceThreshold: 0.52,
      classThresholds: { circle: 0.61 },
    };
    const signed = signManifest(unsigned({ confidence }), key);
    expect(verifyManifest(JSON.parse(JSON.stringify(signed)), { trustedKeys, now }).confidence).toEqual(
      confidence,
    );
    const tampered: Manifest[] = [
      { ...signed, confidence: { ...confidence, lowConfidenceThreshold: 0.01 } },
      { ...signed, confidence: { ...confidence, classThresholds: { circle: 0.01 } } },
      { ...signed, confidence: undefined },
    ];
    for (const m of tampered) {
      expect(codeOf(() => verifyManifest(m, { trustedKeys, now }))).toBe('MANIFEST_SIGNATURE_INVALID');
    }
  });

  it('rejects a manifest signed by a key it does not trust', () => {
    const other = generateSigningKey();
    const signed = signManifest(unsigned(), other);
    expect(codeOf(() => verifyManifest(signed, { trustedKeys, now }))).toBe('MANIFEST_UNTRUSTED_KEY');
  });

  it('rejects a forged signature under a trusted key id', () => {
    const other = generateSigningKey();
    const forged = signManifest(unsigned(), { ...other, keyId: key.keyId });
    expect(codeOf(() => verifyManifest(forged, { trustedKeys, now }))).toBe('MANIFEST_SIGNATURE_INVALID');
  });

  it('rejects an expired manifest', () => {
    const signed = signManifest(unsigned({ expiresAt: '2026-11-21T00:00:00.000Z' }), key);
    expect(codeOf(() => verifyManifest(signed, { trustedKeys, now }))).toBe('MANIFEST_EXPIRED');
  });

  it('rejects a malformed manifest with the bad field named', () => {
    const bad = { ...signManifest(unsigned(), key), files: [{ name: '../etc/passwd', role: 'model' }] };
    expect(() => verifyManifest(bad, { trustedKeys, now })).toThrow(/files\.0\.name/);
  });

  it('canonical JSON does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 'x' }] })).toBe('{"a":[1,{"c":"x","d":2}],"b":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });
});
