/**
 * Device identity records: the client certificate issued to a device, its revocation, and the
 * sequence numbers of its signed desired state (anti-replay).
 */
import type { SqlDatabase } from './sql.ts';

/** Stored in place of a revoked device's secret hash: no secret verifies against it. */
export const REVOKED_SECRET_HASH = 'revoked';

export interface Revocation {
  revokedAt: string;
  revokedBy: string;
}

export interface SecurityStore {
  /** Records the certificate issued at enrollment (a re-enrollment replaces it, or clears it). */
  setCertificate(deviceId: string, fingerprint: string | null): Promise<void>;
  certificateOf(deviceId: string): Promise<string | null>;
  /** Revokes a device: its secret and certificate stop working. False when the device is unknown. */
  revoke(deviceId: string, by: string, at: string): Promise<boolean>;
  revocationOf(deviceId: string): Promise<Revocation | null>;
  /** A device's new secret hash (rotation); false when the device is unknown or revoked. */
  replaceSecretHash(deviceId: string, secretHash: string): Promise<boolean>;
  /**
   * The sequence number and issue time for this content of a device's desired state: the same as
   * last time when the content is unchanged (so every copy is the same message), else one more
   * (starting at 1) issued `now`.
   */
  desiredSequence(
    deviceId: string,
    content: string,
    now: string,
  ): Promise<{ sequence: number; issuedAt: string }>;
}

interface IdentityRow {
  cert_fingerprint: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}

export class SqlSecurityStore implements SecurityStore {
  constructor(private readonly sql: SqlDatabase) {}

  private async row(deviceId: string): Promise<IdentityRow | undefined> {
    return (await this.sql
      .prepare('SELECT cert_fingerprint, revoked_at, revoked_by FROM device_identity WHERE device_id = ?')
      .get(deviceId)) as IdentityRow | undefined;
  }

  async setCertificate(deviceId: string, fingerprint: string | null): Promise<void> {
    // A (re-)enrollment starts a fresh identity: any revocation is lifted with it.
    await this.sql
      .prepare(
        `INSERT INTO device_identity (device_id, cert_fingerprint) VALUES (?, ?)
         ON CONFLICT (device_id) DO UPDATE SET cert_fingerprint = excluded.cert_fingerprint,
           revoked_at = NULL, revoked_by = NULL`,
      )
      .run(deviceId, fingerprint);
  }

  async certificateOf(deviceId: string): Promise<string | null> {
    const row = await this.row(deviceId);
    return row && row.revoked_at === null ? row.cert_fingerprint : null;
  }

  async revoke(deviceId: string, by: string, at: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const { changes } = await tx
        .prepare('UPDATE devices SET secret_hash = ? WHERE id = ?')
        .run(REVOKED_SECRET_HASH, deviceId);
      if (changes === 0) return false;
      await tx
        .prepare(
          `INSERT INTO device_identity (device_id, cert_fingerprint, revoked_at, revoked_by) VALUES (?, NULL, ?, ?)
           ON CONFLICT (device_id) DO UPDATE SET cert_fingerprint = NULL, revoked_at = excluded.revoked_at,
             revoked_by = excluded.revoked_by`,
        )
        .run(deviceId, at, by);
      return true;
    });
  }

  async revocationOf(deviceId: string): Promise<Revocation | null> {
    const row = await this.row(deviceId);
    return row?.revoked_at ? { revokedAt: row.revoked_at, revokedBy: row.revoked_by ?? 'unknown' } : null;
  }

  async replaceSecretHash(deviceId: string, secretHash: string): Promise<boolean> {
    if (await this.revocationOf(deviceId)) return false;
    return (
      (await this.sql.prepare('UPDATE devices SET secret_hash = ? WHERE id = ?').run(secretHash, deviceId))
        .changes > 0
    );
  }

  async desiredSequence(deviceId: string, content: string, now: string) {
    return this.sql.transaction(async (tx) => {
      // Two publishes for one device on Postgres must not hand out the same number twice.
      await tx.lock(`desired-sequence:${deviceId}`);
      const row = (await tx
        .prepare('SELECT sequence, content, issued_at FROM desired_sequence WHERE device_id = ?')
        .get(deviceId)) as { sequence: number; content: string; issued_at: string } | undefined;
      if (row && row.content === content) return { sequence: Number(row.sequence), issuedAt: row.issued_at };
      const sequence = Number(row?.sequence ?? 0) + 1;
      await tx
        .prepare(
          `INSERT INTO desired_sequence (device_id, sequence, content, issued_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (device_id) DO UPDATE SET sequence = excluded.sequence, content = excluded.content,
             issued_at = excluded.issued_at`,
        )
        .run(deviceId, sequence, content, now);
      return { sequence, issuedAt: now };
    });
  }
}
