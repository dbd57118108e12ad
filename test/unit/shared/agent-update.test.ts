/**
 * Agent versions as devices compare them for anti-rollback (semver precedence), and the desired
 * state's `agent` part as devices validate it.
 */
import { compareAgentVersions, DesiredAgentSchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

describe('compareAgentVersions', () => {
  it('orders by major, minor, patch numerically, not as text', () => {
    const sorted = ['0.10.0', '0.2.0', '1.0.0', '0.2.10', '0.2.9'].sort(compareAgentVersions);
    expect(sorted).toEqual(['0.2.0', '0.2.9', '0.2.10', '0.10.0', '1.0.0']);
  });

  it('puts a pre-release before its release and ignores build metadata', () => {
    expect(compareAgentVersions('1.0.0-rc.1', '1.0.0')).toBeLessThan(0);
    expect(compareAgentVersions('1.0.0-rc.2', '1.0.0-rc.10')).toBeLessThan(0);
    expect(compareAgentVersions('1.0.0+build.7', '1.0.0')).toBe(0);
  });
});

describe('DesiredAgentSchema', () => {
  const bundle = {
    arch: 'arm64',
    path: '/api/v1/agent-versions/0.2.0/bundles/arm64',
    sha256: 'a'.repeat(64),
    bytes: 10,
  };

  it('is not a rollback unless it says so', () => {
    expect(DesiredAgentSchema.parse({ agentVersion: '0.2.0', bundles: [bundle] }).rollback).toBe(false);
  });

  it('refuses a version that is not semver, a relative path and an unknown architecture', () => {
    expect(() => DesiredAgentSchema.parse({ agentVersion: '../0.2', bundles: [bundle] })).toThrow();
    expect(() =>
      DesiredAgentSchema.parse({ agentVersion: '0.2.0', bundles: [{ ...bundle, path: 'x' }] }),
    ).toThrow();
    expect(() =>
      DesiredAgentSchema.parse({ agentVersion: '0.2.0', bundles: [{ ...bundle, arch: 'riscv' }] }),
    ).toThrow();
  });
});
