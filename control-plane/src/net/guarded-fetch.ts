/**
 * GET a URL for a user (dataset import) without letting the URL reach inside our network (SSRF):
 * every hop, redirects included, is checked by an AddressPolicy *after* DNS resolution, and the
 * connection goes to the address that was checked (the socket's `lookup` is ours, so a second
 * DNS answer cannot swap in 127.0.0.1: no rebinding between check and connect). The body is
 * counted while it streams and cut at `maxBytes`. Whatever stops a fetch before an allowed server
 * answers (refused address, DNS failure, connection refused, timeout) gives the caller the same
 * message, so import results cannot be used to map the internal network; the log has the detail.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { EdgeloopError, type Logger, redactText } from '@edgeloop/shared';
import type { AddressPolicy } from './address-policy.ts';

export const UNREACHABLE = 'could not fetch the URL';

export interface GuardedFetchOptions {
  policy: AddressPolicy;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  logger?: Logger;
}

/** Raised inside a hop for a refused address; reported to callers as UNREACHABLE like any other. */
class RefusedAddressError extends Error {}

function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      // One blocked answer refuses the name: a mixed answer is how rebinding attacks start.
      if (addresses.length === 0 || addresses.some((a) => !policy.allows(a.address))) {
        return callback(new RefusedAddressError(`${hostname} resolves to a refused address`), '', 4);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function unreachable(reason: string, url: string, logger?: Logger): EdgeloopError {
  logger?.warn({ url: redactText(url), reason }, 'dataset import: URL not fetched');
  return new EdgeloopError('UPSTREAM_FAILED', UNREACHABLE);
}

function get(url: URL, options: GuardedFetchOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal never goes through `lookup`: check it here.
  if (isIP(host) !== 0 && !options.policy.allows(host)) {
    return Promise.reject(new RefusedAddressError(`${host} is a refused address`));
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const init: RequestOptions = {
    method: 'GET',
    lookup: guardedLookup(options.policy),
    // No keep-alive pool: a pooled socket would skip the check of the hop that reuses it.
    agent: false,
    signal,
    headers: { accept: 'image/*' },
  };
  return new Promise((resolve, reject) => {
    const req = request(url, init, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readCapped(res: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers['content-length'] ?? 0);
  const tooLarge = () => new EdgeloopError('PAYLOAD_TOO_LARGE', `image exceeds ${maxBytes} bytes`);
  if (declared > maxBytes) {
    res.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      res.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The body of `url` (http or https), following at most `maxRedirects` redirects, each checked. */
export async function guardedFetch(url: string, options: GuardedFetchOptions): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new EdgeloopError('VALIDATION_FAILED', 'not a URL');
  }
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') {
      throw unreachable(`scheme ${current.protocol}`, current.href, options.logger);
    }
    let res: IncomingMessage;
    try {
      res = await get(current, options, signal);
    } catch (err) {
      throw unreachable((err as Error).message, current.href, options.logger);
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location) {
      res.resume();
      if (hop >= options.maxRedirects) {
        throw new EdgeloopError('UPSTREAM_FAILED', `more than ${options.maxRedirects} redirects`);
      }
      current = new URL(location, current);
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw new EdgeloopError('UPSTREAM_FAILED', `HTTP ${status}`);
    }
    try {
      return await readCapped(res, options.maxBytes);
    } catch (err) {
      if (err instanceof EdgeloopError) throw err;
      throw unreachable((err as Error).message, current.href, options.logger);
    }
  }
}
