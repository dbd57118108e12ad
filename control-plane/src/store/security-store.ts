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
   * The same secret's hash in a newer form, only while the stored hash is still `from`: a
   * rotation, revocation or re-enrollment meanwhile (through any replica) wins. False then.
   */
  rehashSecret(deviceId: string, from: string, to: string): Promise<boolean>;
  /**
   * The sequence number and issue time for this content of a device's desired state: the same as
   * last time when the content is unchanged (so every copy is the same message), else one more
   * (starting at 1) issued `now`.
   */
  desiredSequence(deviceId: string, content: string, now: string): Promise<DesiredNumber>;
  /**
   * desiredSequence for many devices in one transaction (a rollout's wave, a republish of the
   * fleet), answered in the order asked: the same numbers as one call per entry in that order.
   */
  desiredSequences(entries: readonly DesiredContent[], now: string): Promise<DesiredNumber[]>;
}

export interface DesiredContent {
  deviceId: string;
  /** The canonical JSON of what the desired state says. */
  content: string;
}

export interface DesiredNumber {
  sequence: number;
  issuedAt: string;
}

/** Rows per statement: well inside SQLite's and Postgres' limits on bound parameters. */
const SEQUENCE_CHUNK = 250;

interface SequenceRow {
  device_id: string;
  sequence: number;
  content: string;
  issued_at: string;
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

  async rehashSecret(deviceId: string, from: string, to: string): Promise<boolean> {
    const { changes } = await this.sql
      .prepare('UPDATE devices SET secret_hash = ? WHERE id = ? AND secret_hash = ?')
      .run(to, deviceId, from);
    return changes > 0;
  }

  async desiredSequence(deviceId: string, content: string, now: string): Promise<DesiredNumber> {
    const [numbered] = await this.desiredSequences([{ deviceId, content }], now);
    return numbered;
  }

  async desiredSequences(entries: readonly DesiredContent[], now: string): Promise<DesiredNumber[]> {
    if (entries.length === 0) return [];
    return this.sql.transaction(async (tx) => {
      // One lock for every device's numbers: two replicas publishing at once must not hand out
      // the same number twice, and one lock per batch costs one statement, not one per device.
      await tx.lock('desired-sequence');
      const ids = [...new Set(entries.map((e) => e.deviceId))];
      const stored = new Map<string, SequenceRow>();
      for (let i = 0; i < ids.length; i += SEQUENCE_CHUNK) {
        const chunk = ids.slice(i, i + SEQUENCE_CHUNK);
        const rows = (await tx
          .prepare(
            `SELECT device_id, sequence, content, issued_at FROM desired_sequence
             WHERE device_id IN (${chunk.map(() => '?').join(', ')})`,
          )
          .all(...chunk)) as SequenceRow[];
        for (const row of rows) stored.set(row.device_id, row);
      }
      // The content is compared in full: only a change of content takes a new number.
      const changed = new Map<string, SequenceRow>();
      const numbers = entries.map(({ deviceId, content }) => {
        const row = stored.get(deviceId);
        if (row && row.content === content)
          return { sequence: Number(row.sequence), issuedAt: row.issued_at };
        const next = {
          device_id: deviceId,
          sequence: Number(row?.sequence ?? 0) + 1,
          content,
          issued_at: now,
        };
        stored.set(deviceId, next);
        changed.set(deviceId, next);
        return { sequence: next.sequence, issuedAt: now };
      });
      const rows = [...changed.values()];
      for (let i = 0; i < rows.length; i += SEQUENCE_CHUNK) {
        const chunk = rows.slice(i, i + SEQUENCE_CHUNK);
        await tx
          .prepare(
            `INSERT INTO desired_sequence (device_id, sequence, content, issued_at)
             VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}
             ON CONFLICT (device_id) DO UPDATE SET sequence = excluded.sequence, content = excluded.content,
               issued_at = excluded.issued_at`,
          )
          .run(...chunk.flatMap((r) => [r.device_id, r.sequence, r.content, r.issued_at]));
      }
      return numbers;
    });
  }
}
