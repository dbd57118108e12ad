/**
 * Which network addresses the control plane may fetch from on a user's behalf (dataset import by
 * URL): public unicast only. Loopback, private (RFC 1918, ULA), link-local (incl. the cloud
 * metadata address 169.254.169.254), CGNAT, documentation, multicast and reserved ranges are
 * refused unless the config names them in `datasetImport.allowNetworks`. IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`) is judged as the IPv4 address it carries (net.BlockList does that).
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '@edgeloop/shared';

const BLOCKED_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // CGNAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const BLOCKED_V6: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: carries any IPv4 address, private ones included
  ['fc00::', 7], // unique local (ULA)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

export interface AddressPolicy {
  /** True when `address` (an IP literal) may be connected to. */
  allows(address: string): boolean;
}

function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address, bits] = cidr.split('/');
  const version = isIP(address ?? '');
  const prefix = Number(bits ?? (version === 6 ? 128 : 32));
  if (version === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (version === 6 ? 128 : 32)) {
    throw new ConfigError(`datasetImport.allowNetworks: '${cidr}' is not an address or CIDR block`);
  }
  return { address, prefix, family: version === 6 ? 'ipv6' : 'ipv4' };
}

/** Public unicast addresses, plus the CIDR blocks in `allowNetworks` (e.g. `["127.0.0.0/8"]`). */
export function createAddressPolicy(allowNetworks: readonly string[] = []): AddressPolicy {
  const blocked = new BlockList();
  for (const [a, p] of BLOCKED_V4) blocked.addSubnet(a, p, 'ipv4');
  for (const [a, p] of BLOCKED_V6) blocked.addSubnet(a, p, 'ipv6');
  const allowed = new BlockList();
  for (const cidr of allowNetworks) {
    const { address, prefix, family } = parseCidr(cidr);
    allowed.addSubnet(address, prefix, family);
  }
  return {
    allows(address) {
      const version = isIP(address);
      if (version === 0) return false;
      const family = version === 6 ? 'ipv6' : 'ipv4';
      if (allowed.check(address, family)) return true;
      return !blocked.check(address, family);
    },
  };
}
