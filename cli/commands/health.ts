/**
 * `edgeloop health`: one probe of a running control plane (its contract's health route) or agent
 * (its local endpoint's /health), exit 0 when it answers healthy and 1 otherwise. Container
 * HEALTHCHECKs (deploy/Dockerfile), scripts and monitors call it; it needs no credentials.
 */
import { apiRoutes, createTransport, EdgeloopError, ValidationError } from '@edgeloop/shared';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';

const options = {
  'control-plane': {
    type: 'string',
    value: 'URL',
    description: "the control plane's base URL (e.g. http://127.0.0.1:8080)",
    env: 'EDGELOOP_URL',
  },
  agent: {
    type: 'string',
    value: 'URL',
    description: "the agent's local endpoint (config `http`, e.g. http://127.0.0.1:8081)",
  },
  'timeout-ms': { type: 'number', value: 'N', default: 5000, description: 'give up after N ms' },
} as const satisfies OptionDefs;

export const healthCommand = defineCommand({
  name: 'health',
  summary: 'probe a control plane or an agent: exit 0 when healthy (container HEALTHCHECK)',
  usage: 'edgeloop health (--control-plane URL | --agent URL)',
  description:
    "Asks a running control plane (its health route) or agent (its local endpoint's /health) whether it is up; prints one line and exits 0 when healthy, 1 when not or unreachable.",
  options,
  run: (args): Promise<number> => health(args),
});

async function health({ values }: ParsedArgs<typeof options>): Promise<number> {
  const timeoutMs = values['timeout-ms'];
  const agentUrl = values.agent;
  const cpUrl = values['control-plane'];
  if (agentUrl === undefined && cpUrl === undefined)
    throw new ValidationError('give --control-plane URL (or EDGELOOP_URL) or --agent URL');
  try {
    // --agent wins over an EDGELOOP_URL left in the environment.
    if (agentUrl === undefined && cpUrl !== undefined) {
      const transport = createTransport({ baseUrl: cpUrl, timeoutMs });
      const answer = await transport.call(apiRoutes.getHealth, {});
      process.stdout.write(`control plane ${cpUrl}: healthy (version ${answer.version})\n`);
      return 0;
    }
    const url = `${(agentUrl as string).replace(/\/+$/, '')}/health`;
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => null)) as { ok?: unknown; deviceId?: unknown } | null;
    if (!response.ok || body?.ok !== true) {
      process.stderr.write(`agent ${agentUrl}: unhealthy (HTTP ${response.status})\n`);
      return 1;
    }
    process.stdout.write(`agent ${agentUrl}: healthy (device ${String(body.deviceId)})\n`);
    return 0;
  } catch (err) {
    // Unreachable or refused is an answer here ("not healthy"), not a failure of the command.
    const reason = err instanceof EdgeloopError ? err.message : (err as Error).message;
    process.stderr.write(`${cpUrl ?? agentUrl}: unhealthy (${reason})\n`);
    return 1;
  }
}
