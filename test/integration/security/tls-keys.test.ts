/**
 * Certificate files from a site PKI reloaded without a restart, the signing key that may not go
 * missing once devices trust it, and the own CA's files on disk.
 */
import { statSync, unlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  certificateFingerprint,
  createCertificateAuthority,
  issueServerCertificate,
  writeFileAtomic,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { enroll, startTestControlPlane, tempDir } from '../control-plane/helpers.ts';
import { waitUntil } from '../rollouts/fleet.ts';
import { servedFingerprint } from './tls-helpers.ts';

describe('certificate files', () => {
  it('serves a renewed certificate on both listeners without a restart', async () => {
    const pki = tempDir();
    const ca = await createCertificateAuthority('site CA', 30);
    const target = { names: ['localhost'], addresses: ['127.0.0.1'] };
    const first = await issueServerCertificate(ca, target, 30);
    const certFile = join(pki.path, 'server.pem');
    const keyFile = join(pki.path, 'server-key.pem');
    await writeFile(certFile, first.certPem);
    await writeFile(keyFile, first.keyPem);
    const caFile = join(pki.path, 'ca.pem');
    await writeFile(caFile, ca.certPem);
    const t = await startTestControlPlane({
      tls: { certFile, keyFile, caFile, mqttPort: 0 },
      logLevel: 'info',
    });
    try {
      expect(await servedFingerprint(t.cp.httpUrl, ca.certPem)).toBe(certificateFingerprint(first.certPem));
      expect(await servedFingerprint(t.cp.mqttUrl, ca.certPem)).toBe(certificateFingerprint(first.certPem));

      // As certbot does it: new files renamed over the old ones.
      const renewed = await issueServerCertificate(ca, target, 30);
      await writeFileAtomic(keyFile, renewed.keyPem);
      await writeFileAtomic(certFile, renewed.certPem);
      const wanted = certificateFingerprint(renewed.certPem);
      await waitUntil(
        async () => (await servedFingerprint(t.cp.httpUrl, ca.certPem)) === wanted,
        'HTTPS reload',
      );
      await waitUntil(
        async () => (await servedFingerprint(t.cp.mqttUrl, ca.certPem)) === wanted,
        'MQTTS reload',
      );

      // A key that does not match its certificate is refused; the working one keeps serving.
      const other = await issueServerCertificate(ca, target, 30);
      await writeFileAtomic(certFile, other.certPem);
      await t.logs.waitFor((e) => e.msg === 'tls certificate reload failed; still serving the previous one');
      expect(await servedFingerprint(t.cp.httpUrl, ca.certPem)).toBe(wanted);
    } finally {
      await t.stop();
      pki.remove();
    }
  }, 60_000);

  it('keeps its own CA and server keys 0600 in dataDir/tls and reuses them after a restart', async () => {
    const t = await startTestControlPlane({
      tls: { selfSigned: { names: ['localhost'], addresses: ['127.0.0.1'] }, mqttPort: 0 },
    });
    try {
      const fingerprint = t.cp.serverCa?.fingerprint;
      for (const key of ['ca-key.pem', 'server-key.pem']) {
        expect(statSync(join(t.dataDir, 'tls', key)).mode & 0o777).toBe(0o600);
      }
      await t.restart();
      expect(t.cp.serverCa?.fingerprint).toBe(fingerprint);
    } finally {
      await t.stop();
    }
  }, 60_000);
});

describe('the manifest signing key', () => {
  it('refuses to start without it once devices are enrolled, instead of making a new one', async () => {
    const t = await startTestControlPlane();
    try {
      await enroll(t, 'cam-1');
      await t.cp.close();
      unlinkSync(join(t.dataDir, 'signing-key.json'));
      await expect(t.restart()).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('signing-key.json is missing but devices are enrolled'),
      });
    } finally {
      await t.stop();
    }
  });
});
