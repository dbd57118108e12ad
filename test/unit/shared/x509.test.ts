import { X509Certificate } from 'node:crypto';
import {
  certificateFingerprint,
  createCertificateAuthority,
  createDeviceCsr,
  signDeviceCsr,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

describe('device certificates from a CSR', () => {
  it('names the device the control plane chose, whatever subject the CSR asks for', async () => {
    const ca = await createCertificateAuthority('test CA', 30);
    const { csrPem } = await createDeviceCsr('cam-admin');
    const pem = await signDeviceCsr(ca, csrPem, 'cam-7', 30);
    const cert = new X509Certificate(pem);
    expect(cert.subject).toBe('CN=cam-7');
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(certificateFingerprint(pem)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a CSR whose signature does not verify (the requester must hold the key)', async () => {
    const ca = await createCertificateAuthority('test CA', 30);
    const { csrPem } = await createDeviceCsr('cam-1');
    const body = csrPem
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    const der = Buffer.from(body, 'base64');
    der[der.length - 5] ^= 0xff; // inside the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(signDeviceCsr(ca, tampered, 'cam-1', 30)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(signDeviceCsr(ca, 'not a csr', 'cam-1', 30)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});
