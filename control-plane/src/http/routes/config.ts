/**
 * Remote agent configuration: fragments per group, tag and device, a device's effective
 * configuration, and the device's own copy. A fragment is validated with the agent's own schema
 * before it is stored, so an invalid one never reaches a device. Readers see camera passwords
 * redacted; a fragment saved back with the redaction marker keeps the stored password.
 */
import {
  type ConfigFragmentRecord,
  type ConfigScope,
  DeviceIdSchema,
  DeviceTagSchema,
  NotFoundError,
  parseWith,
  redactSettings,
  redactText,
  restoreRedacted,
  settingsRevision,
  validateFragment,
} from '@edgeloop/shared';
import { z } from 'zod';
import { desiredConfigOf, effectiveConfigOf, fragmentApplies } from '../../fleet/desired-config.ts';
import type { FragmentRecord } from '../../store/config-store.ts';
import { actorOf } from '../actor.ts';
import { deviceIdOf } from '../auth.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

const KEY_SCHEMAS: Record<ConfigScope, z.ZodType<string>> = {
  group: z.string().min(1).max(64),
  tag: DeviceTagSchema,
  device: DeviceIdSchema,
};

function redacted(f: FragmentRecord): ConfigFragmentRecord {
  return { ...f, settings: redactSettings(f.settings) };
}

export function configHandlers(deps: AppDeps) {
  const { store } = deps;
  const affected = async (scope: ConfigScope, key: string) =>
    (await store.devices.list()).filter((d) => fragmentApplies(d, scope, key)).map((d) => d.deviceId);
  const publish = async (scope: ConfigScope, key: string) => {
    // Without a publisher (an app built without MQTT) devices still fetch it over HTTP at start.
    if (deps.desiredConfig) return deps.desiredConfig.publishScope(scope, key);
    return affected(scope, key);
  };

  return handlers({
    listConfigFragments: async () => ({
      status: 200,
      body: { fragments: (await store.config.listFragments()).map(redacted) },
    }),
    getConfigFragment: async ({ params }) => {
      const fragment = await store.config.getFragment(params.scope, params.key);
      if (!fragment) throw new NotFoundError(`no configuration for ${params.scope} '${params.key}'`);
      return { status: 200, body: redacted(fragment) };
    },
    putConfigFragment: async ({ params, query, body }, c) => {
      const { scope } = params;
      const key = parseWith(KEY_SCHEMAS[scope], params.key, `${scope} name`);
      if (scope === 'device' && !(await store.devices.exists(key)))
        throw new NotFoundError(`device '${key}' not found`);
      const stored = await store.config.getFragment(scope, key);
      const settings = validateFragment(restoreRedacted(body.settings, stored?.settings ?? null));
      const fragment: FragmentRecord = {
        scope,
        key,
        settings,
        revision: settingsRevision(settings),
        updatedAt: new Date().toISOString(),
        updatedBy: actorOf(c),
      };
      if (query.dryRun) {
        return {
          status: 200,
          body: { fragment: redacted(fragment), devices: await affected(scope, key), dryRun: true },
        };
      }
      await store.config.putFragment(fragment);
      const devices = await publish(scope, key);
      deps.logger.info(
        { scope, key, revision: fragment.revision, devices: devices.length },
        'config fragment set',
      );
      return { status: 200, body: { fragment: redacted(fragment), devices, dryRun: false } };
    },
    deleteConfigFragment: async ({ params }) => {
      const existing = await store.config.getFragment(params.scope, params.key);
      if (!existing || !(await store.config.deleteFragment(params.scope, params.key))) {
        throw new NotFoundError(`no configuration for ${params.scope} '${params.key}'`);
      }
      const devices = await publish(params.scope, params.key);
      deps.logger.info(
        { scope: params.scope, key: params.key, devices: devices.length },
        'config fragment removed',
      );
      return { status: 200, body: { fragment: redacted(existing), devices, dryRun: false } };
    },
    getDeviceConfig: async ({ params }) => {
      const device = await store.devices.get(params.id);
      if (!device) throw new NotFoundError(`device '${params.id}' not found`);
      const effective = effectiveConfigOf(device, await store.config.listFragments());
      const reported = await store.config.getApplied(device.deviceId);
      // Agents redact their own details; older or foreign ones might not.
      const applied = reported && { ...reported, detail: reported.detail && redactText(reported.detail) };
      return {
        status: 200,
        body: {
          deviceId: device.deviceId,
          desired: {
            revision: effective.revision,
            settings: redactSettings(effective.settings),
            layers: effective.layers.map(({ scope, key, revision, updatedAt }) => ({
              scope,
              key,
              revision,
              updatedAt,
            })),
          },
          applied,
          inSync: (applied?.revision ?? null) === effective.revision,
        },
      };
    },
    getDesiredConfig: async (_input, c) => {
      const device = await store.devices.get(deviceIdOf(c));
      if (!device) throw new NotFoundError('device not found');
      const effective = effectiveConfigOf(device, await store.config.listFragments());
      return { status: 200, body: desiredConfigOf(effective, new Date().toISOString()) };
    },
  });
}
