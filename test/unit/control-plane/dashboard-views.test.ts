/**
 * The dashboard's pure parts: the Fleet page's figures and query parsing, and session cookies
 * (what a user notices: right numbers, refused forgeries, expiry, config changes taking effect).
 */
import { FleetQuerySchema, parseWith, ValidationError } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../../control-plane/src/auth/secrets.ts';
import { createSessions } from '../../../control-plane/src/auth/sessions.ts';
import { figuresOf } from '../../../control-plane/src/dashboard/fleet-view.ts';
import type { TelemetryPoint } from '../../../control-plane/src/store/dashboard-store.ts';

function points(confidences: number[], everyMs: number): TelemetryPoint[] {
  const start = Date.parse('2026-11-22T10:00:00Z');
  return confidences.map((confidence, i) => ({
    modelVersion: 1,
    topLabel: 'red',
    confidence,
    latencyMs: 10 + i,
    capturedAt: new Date(start + i * everyMs).toISOString(),
    receivedAt: new Date(start + i * everyMs + 5).toISOString(),
  }));
}

describe('fleet figures', () => {
  it('computes fps, latency and the low-confidence rate from the last 20 predictions', () => {
    const old = Array(10).fill(0.1);
    const recent = [...Array(15).fill(0.9), ...Array(5).fill(0.3)];
    const f = figuresOf(points([...old, ...recent], 250));
    expect(f.fps).toBeCloseTo(4, 5); // 19 gaps of 250 ms
    expect(f.lowConfidenceRate).toBe(0.25);
    expect(f.latencyMs).toBeCloseTo(10 + (10 + 29) / 2, 5);
    expect(f.trend).toHaveLength(30);
  });

  it('prefers the heartbeat for fps and latency, and has no figures without predictions', () => {
    const health = {
      fps: 7.5,
      latencyP50Ms: 3.2,
      latencyP95Ms: 9,
      framesDropped: 0,
      cameraRestarts: 0,
      queueDepth: 0,
      evictions: 0,
      uptimeS: 10,
      cpuTemperatureC: null,
    };
    expect(figuresOf(points([0.9, 0.5], 1000), health)).toMatchObject({ fps: 7.5, latencyMs: 3.2 });
    expect(figuresOf([])).toEqual({ fps: null, latencyMs: null, lowConfidenceRate: null, trend: [] });
    expect(figuresOf(points([0.9], 1000)).fps).toBeNull();
  });

  it('parses fleet queries and refuses bad ones', () => {
    const parseFleetQuery = (q: Record<string, string>) => parseWith(FleetQuerySchema, q, 'query');
    expect(
      parseFleetQuery({ q: ' Aisle ', status: 'online', sort: 'lastSeenAt', dir: 'desc', page: '2' }),
    ).toEqual({
      q: 'aisle',
      status: 'online',
      group: '',
      tags: [],
      version: '',
      sort: 'lastSeenAt',
      dir: 'desc',
      page: 2,
      pageSize: 50,
    });
    expect(parseFleetQuery({ tags: 'outdoor, site-a,' }).tags).toEqual(['outdoor', 'site-a']);
    expect(() => parseFleetQuery({ status: 'sleeping' })).toThrow(ValidationError);
    expect(() => parseFleetQuery({ sort: 'secret_hash' })).toThrow(ValidationError);
    expect(() => parseFleetQuery({ pageSize: '100000' })).toThrow(ValidationError);
  });
});

describe('sessions', () => {
  it('signs users and the admin token in, and refuses wrong passwords and forged cookies', async () => {
    const users = [
      { name: 'olga', role: 'operator' as const, passwordHash: await hashSecret('operator-pass') },
    ];
    const sessions = createSessions({ users, adminToken: 'a'.repeat(32), sessionHours: 1 });
    expect(await sessions.signIn('olga', 'nope')).toBeNull();
    expect(await sessions.signIn('admin', 'b'.repeat(32))).toBeNull();
    const olga = await sessions.signIn('olga', 'operator-pass');
    expect(olga).toMatchObject({ name: 'olga', role: 'operator' });
    const cookie = sessions.encode(olga!);
    expect(await sessions.decode(cookie)).toMatchObject({ name: 'olga', role: 'operator' });
    const [body, mac] = cookie.split('.');
    const raised = Buffer.from(JSON.stringify(['olga', 'admin', olga!.expiresAt])).toString('base64url');
    expect(await sessions.decode(`${raised}.${mac}`)).toBeNull();
    // One character of the MAC changed (a MAC that starts with x gets a y: 1 in 64 runs did not change it).
    expect(await sessions.decode(`${body}.${mac[0] === 'x' ? 'y' : 'x'}${mac.slice(1)}`)).toBeNull();
    expect(await sessions.signIn('admin', 'a'.repeat(32))).toMatchObject({ role: 'admin' });
    // Another admin token (a rotated one) signs differently: old cookies stop working.
    const rotated = createSessions({ users, adminToken: 'c'.repeat(32), sessionHours: 1 });
    expect(await rotated.decode(cookie)).toBeNull();
  });

  it('ends sessions at expiry and follows the config: a removed user is out, a lowered role applies', async () => {
    let now = Date.parse('2026-11-22T10:00:00Z');
    const hash = await hashSecret('operator-pass');
    const adminToken = 'a'.repeat(32);
    const before = createSessions({
      users: [{ name: 'olga', role: 'operator', passwordHash: hash }],
      adminToken,
      sessionHours: 1,
      now: () => now,
    });
    const cookie = before.encode((await before.signIn('olga', 'operator-pass'))!);
    const lowered = createSessions({
      users: [{ name: 'olga', role: 'viewer', passwordHash: hash }],
      adminToken,
      sessionHours: 1,
      now: () => now,
    });
    expect((await lowered.decode(cookie))?.role).toBe('viewer');
    expect(
      await createSessions({ users: [], adminToken, sessionHours: 1, now: () => now }).decode(cookie),
    ).toBeNull();
    now += 3600_000;
    expect(await before.decode(cookie)).toBeNull();
  });
});
