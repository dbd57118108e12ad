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
  setCertificate(deviceId: string, fingerprint: string | null): void;
  certificateOf(deviceId: string): string | null;
  /** Revokes a device: its secret and certificate stop working. False when the device is unknown. */
  revoke(deviceId: string, by: string, at: string): boolean;
  revocationOf(deviceId: string): Revocation | null;
  /** A device's new secret hash (rotation); false when the device is unknown or revoked. */
  replaceSecretHash(deviceId: string, secretHash: string): boolean;
  /**
   * The sequence number and issue time for this content of a device's desired state: the same as
   * last time when the content is unchanged (so every copy is the same message), else one more
   * (starting at 1) issued `now`.
   */
  desiredSequence(deviceId: string, content: string, now: string): { sequence: number; issuedAt: string };
}

interface IdentityRow {
  cert_fingerprint: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}

export class SqliteSecurityStore implements SecurityStore {
  constructor(private readonly sql: SqlDatabase) {}

  private row(deviceId: string): IdentityRow | undefined {
    return this.sql
      .prepare('SELECT cert_fingerprint, revoked_at, revoked_by FROM device_identity WHERE device_id = ?')
      .get(deviceId) as IdentityRow | undefined;
  }

  setCertificate(deviceId: string, fingerprint: string | null): void {
    // A (re-)enrollment starts a fresh identity: any revocation is lifted with it.
    this.sql
      .prepare(
        `INSERT INTO device_identity (device_id, cert_fingerprint) VALUES (?, ?)
         ON CONFLICT (device_id) DO UPDATE SET cert_fingerprint = excluded.cert_fingerprint,
           revoked_at = NULL, revoked_by = NULL`,
      )
      .run(deviceId, fingerprint);
  }

  certificateOf(deviceId: string): string | null {
    const row = this.row(deviceId);
    return row && row.revoked_at === null ? row.cert_fingerprint : null;
  }

  revoke(deviceId: string, by: string, at: string): boolean {
    return this.sql.transaction(() => {
      const changed = this.sql
        .prepare('UPDATE devices SET secret_hash = ? WHERE id = ?')
        .run(REVOKED_SECRET_HASH, deviceId).changes;
      if (changed === 0) return false;
      this.sql
        .prepare(
          `INSERT INTO device_identity (device_id, cert_fingerprint, revoked_at, revoked_by) VALUES (?, NULL, ?, ?)
           ON CONFLICT (device_id) DO UPDATE SET cert_fingerprint = NULL, revoked_at = excluded.revoked_at,
             revoked_by = excluded.revoked_by`,
        )
        .run(deviceId, at, by);
      return true;
    })();
  }

  revocationOf(deviceId: string): Revocation | null {
    const row = this.row(deviceId);
    return row?.revoked_at ? { revokedAt: row.revoked_at, revokedBy: row.revoked_by ?? 'unknown' } : null;
  }

  replaceSecretHash(deviceId: string, secretHash: string): boolean {
    if (this.revocationOf(deviceId)) return false;
    return (
      this.sql.prepare('UPDATE devices SET secret_hash = ? WHERE id = ?').run(secretHash, deviceId).changes >
      0
    );
  }

  desiredSequence(deviceId: string, content: string, now: string) {
    return this.sql.transaction(() => {
      const row = this.sql
        .prepare('SELECT sequence, content, issued_at FROM desired_sequence WHERE device_id = ?')
        .get(deviceId) as { sequence: number; content: string; issued_at: string } | undefined;
      if (row && row.content === content) return { sequence: row.sequence, issuedAt: row.issued_at };
      const sequence = (row?.sequence ?? 0) + 1;
      this.sql
        .prepare(
          `INSERT INTO desired_sequence (device_id, sequence, content, issued_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (device_id) DO UPDATE SET sequence = excluded.sequence, content = excluded.content,
             issued_at = excluded.issued_at`,
        )
        .run(deviceId, sequence, content, now);
      return { sequence, issuedAt: now };
    })();
  }
}
