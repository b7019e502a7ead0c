import ipaddr from 'ipaddr.js';
import { badInput } from '../errors';

/**
 * The one place that parses IP addresses and CIDR ranges: used to validate allowlists on
 * commands, and to match a client address at verification time.
 */
export const IP_ALLOWLIST_MAX = 50;

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Strict parse: dotted-quad IPv4 (no `127.1` or hex forms) or IPv6; IPv4-mapped IPv6 becomes IPv4. */
export function parseAddress(raw: string): Address | null {
  const text = raw.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) return null;
  const v6 = ipaddr.IPv6.parse(text);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

const fullLength = (address: Address): number => (address.kind() === 'ipv4' ? 32 : 128);

/** Parses `addr` or `addr/prefix` into its normalised text: the network address, `/prefix` omitted for a single host. */
export function normaliseIpEntry(raw: string): string | null {
  const [addressText, prefixText, ...rest] = raw.trim().split('/');
  if (addressText === undefined || rest.length > 0) return null;
  const address = parseAddress(addressText);
  if (!address) return null;
  let prefix = fullLength(address);
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    // An IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) becomes its IPv4 equivalent.
    if (address.kind() === 'ipv4' && addressText.includes(':')) prefix -= 96;
    if (prefix < 0 || prefix > fullLength(address)) return null;
  }
  if (prefix === fullLength(address)) return address.toString();
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  return `${network.toString()}/${prefix}`;
}

/** Validates an allowlist: at most 50 entries, each an address or CIDR range; returns them normalised and de-duplicated. */
export function parseIpAllowlist(raw: readonly string[], field = 'ipAllowlist'): string[] {
  if (raw.length > IP_ALLOWLIST_MAX) {
    throw badInput(field, `ipAllowlist may hold at most ${IP_ALLOWLIST_MAX} entries (got ${raw.length})`);
  }
  const normalised: string[] = [];
  raw.forEach((entry, index) => {
    const value = normaliseIpEntry(entry);
    if (value === null) throw badInput(`${field}[${index}]`, `"${entry}" is not an IPv4/IPv6 address or CIDR range`);
    if (!normalised.includes(value)) normalised.push(value);
  });
  return normalised;
}

/** A compiled allowlist: answers whether a client address is allowed. Empty allowlist allows any address. */
export type IpMatcher = (clientIp: string | null | undefined) => boolean;

export function compileIpAllowlist(allowlist: readonly string[]): IpMatcher {
  if (allowlist.length === 0) return () => true;
  // IPv4 ranges as (network, mask) integers: the common case costs two integer operations per range.
  const v4: Array<{ network: number; mask: number }> = [];
  const v6: Array<[ipaddr.IPv6, number]> = [];
  for (const entry of allowlist) {
    const [addressText, prefixText] = entry.split('/') as [string, string | undefined];
    const address = parseAddress(addressText);
    if (!address) continue;
    const prefix = prefixText === undefined ? fullLength(address) : Number(prefixText);
    if (address.kind() === 'ipv4') {
      const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
      v4.push({ network: (ipv4ToInt(address as ipaddr.IPv4) & mask) >>> 0, mask });
    } else {
      v6.push([address as ipaddr.IPv6, prefix]);
    }
  }
  return (clientIp) => {
    if (!clientIp) return false;
    const address = parseAddress(clientIp);
    if (!address) return false;
    if (address.kind() === 'ipv4') {
      const ip = ipv4ToInt(address as ipaddr.IPv4);
      return v4.some(({ network, mask }) => ((ip & mask) >>> 0) === network);
    }
    return v6.some(([range, prefix]) => (address as ipaddr.IPv6).match(range, prefix));
  };
}

function ipv4ToInt(address: ipaddr.IPv4): number {
  const [a, b, c, d] = address.octets as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
