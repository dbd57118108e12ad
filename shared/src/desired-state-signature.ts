/**
 * Signing and checking desired state, the message that tells a device which model to run. A
 * signed manifest alone stops forged models but not a forged *pointer*: a replayed old desired
 * state could hold a device on an old version (freeze) or, with an old rollback manifest, move it
 * back (rollback), and one device's message could be replayed to another (mix-and-match). So the
 * desired state itself is signed with the manifest keys (ed25519, canonical JSON), names its
 * device, carries a sequence that only grows and the time it was issued.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { EdgeloopError } from './errors.ts';
import { canonicalJson, type SigningKey, type TrustedKey } from './manifest.ts';
import { type DesiredState, DesiredStateSchema } from './schemas/messages.ts';
import { parseWith } from './validate.ts';

export type UnsignedDesiredState = Omit<DesiredState, 'signatures'>;

/** How far ahead of the device's clock a desired state may be dated. */
export const DESIRED_CLOCK_SKEW_MS = 5 * 60_000;

function signedBytes(state: UnsignedDesiredState | DesiredState): Buffer {
  const { signatures: _omit, ...rest } = state as DesiredState;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/**
 * A signing key with its private key parsed once. Parsing a PEM costs more than the ed25519
 * signature itself, and a rollout signs one desired state per device.
 */
export interface DesiredStateSigner {
  keyId: string;
  privateKey: KeyObject;
}

export function desiredStateSigners(keys: readonly SigningKey[]): DesiredStateSigner[] {
  return keys.map((key) => ({ keyId: key.keyId, privateKey: createPrivateKey(key.privateKeyPem) }));
}

/** Signs with every key given (during a key rotation: the new and the old one). */
export function signDesiredState(
  state: UnsignedDesiredState,
  keys: readonly (SigningKey | DesiredStateSigner)[],
): DesiredState {
  const bytes = signedBytes(state);
  const signatures = keys.map((key) => ({
    alg: 'ed25519' as const,
    keyId: key.keyId,
    value: sign(
      null,
      bytes,
      'privateKey' in key ? key.privateKey : createPrivateKey(key.privateKeyPem),
    ).toString('base64'),
  }));
  return parseWith(DesiredStateSchema, { ...state, signatures }, 'desired state');
}

export interface DesiredCheck {
  deviceId: string;
  trustedKeys: readonly TrustedKey[];
  /** The highest sequence accepted before (0: none). */
  lastSequence: number;
  now?: Date;
  skewMs?: number;
}

/**
 * Returns the desired state when one trusted key's signature verifies, it names this device, its
 * sequence is not lower than the last accepted one and it is not dated in the future; otherwise
 * throws DESIRED_STATE_UNTRUSTED, DESIRED_STATE_REPLAYED or DESIRED_STATE_FROM_FUTURE.
 */
export function verifyDesiredState(data: unknown, check: DesiredCheck): DesiredState {
  const state = parseWith(DesiredStateSchema, data, 'desired state');
  const bytes = signedBytes(state);
  const good = state.signatures.some((s) => {
    const key = check.trustedKeys.find((k) => k.keyId === s.keyId);
    return (
      key !== undefined &&
      verify(null, bytes, createPublicKey(key.publicKeyPem), Buffer.from(s.value, 'base64'))
    );
  });
  if (!good) {
    throw new EdgeloopError(
      'DESIRED_STATE_UNTRUSTED',
      `desired state not signed by a trusted key (signed by ${state.signatures.map((s) => s.keyId).join(', ')})`,
    );
  }
  if (state.deviceId !== check.deviceId) {
    throw new EdgeloopError('DESIRED_STATE_UNTRUSTED', `desired state is for device '${state.deviceId}'`);
  }
  if (state.sequence < check.lastSequence) {
    throw new EdgeloopError(
      'DESIRED_STATE_REPLAYED',
      `desired state sequence ${state.sequence} is older than ${check.lastSequence}, accepted before`,
    );
  }
  const now = (check.now ?? new Date()).getTime();
  if (Date.parse(state.issuedAt) > now + (check.skewMs ?? DESIRED_CLOCK_SKEW_MS)) {
    throw new EdgeloopError(
      'DESIRED_STATE_FROM_FUTURE',
      `desired state issued at ${state.issuedAt}, in the future`,
    );
  }
  return state;
}
