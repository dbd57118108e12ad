/**
 * fetch with the agent's TLS settings: the one importer of undici in the agent. Node's global
 * fetch cannot be given a CA or a client certificate; undici's own fetch, with an Agent that
 * carries them, can.
 */
import { Agent, fetch as undiciFetch } from 'undici';

export interface TlsIdentity {
  /** PEM CA(s) the server must chain to; the system's CAs when absent. */
  ca?: string;
  /** The device's client certificate and key (mTLS). */
  cert?: string;
  key?: string;
}

export function createTlsFetch(identity: TlsIdentity): typeof fetch {
  const dispatcher = new Agent({ connect: { ca: identity.ca, cert: identity.cert, key: identity.key } });
  return (async (input: string | URL | Request, init?: RequestInit) => {
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
