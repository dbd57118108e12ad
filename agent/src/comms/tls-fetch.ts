/**
 * fetch with the agent's TLS settings: the one importer of undici in the agent. Node's global
 * fetch cannot be given a CA or a client certificate; undici's own fetch, with an Agent that
 * carries them, can.
 */
import type { Dispatcher } from 'undici';

/** undici is loaded on first TLS request: agents on the system's CAs never need it. */
let undici: Promise<typeof import('undici')> | null = null;

export interface TlsIdentity {
  /** PEM CA(s) the server must chain to; the system's CAs when absent. */
  ca?: string;
  /** The device's client certificate and key (mTLS). */
  cert?: string;
  key?: string;
}

export function createTlsFetch(identity: TlsIdentity): typeof fetch {
  let dispatcher: Dispatcher | null = null;
  return (async (input: string | URL | Request, init?: RequestInit) => {
    undici ??= import('undici');
    const { Agent, fetch: undiciFetch } = await undici;
    dispatcher ??= new Agent({ connect: { ca: identity.ca, cert: identity.cert, key: identity.key } });
    let body = init?.body;
    const headers = new Headers(init?.headers);
    // Node's global FormData is not undici's class; encode it here (samples are small).
    if (body instanceof FormData) {
      const encoded = new Response(body);
      headers.set('content-type', encoded.headers.get('content-type') ?? 'multipart/form-data');
      body = new Uint8Array(await encoded.arrayBuffer());
    }
    const res = await undiciFetch(input as string, {
      ...(init as object),
      headers: Object.fromEntries(headers),
      body: body as never,
      dispatcher,
    });
    return res as unknown as Response;
  }) as typeof fetch;
}
