import ipaddr from 'ipaddr.js';

const MAX_URL_LENGTH = 2048;

/** Whether an address may receive deliveries in production: public unicast only (no private, loopback, link-local, CGNAT, reserved…). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

const isLoopbackHost = (hostname: string): boolean => {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  return ipaddr.isValid(bare) && ipaddr.parse(bare).range() === 'loopback';
};

/**
 * Why a webhook URL is refused, or null: HTTPS, or HTTP to a loopback address outside production
 * (a receiver on the developer's machine); no credentials in it; at most 2,048 characters. In
 * production a literal address must be public (names are checked again, resolved, at each delivery).
 */
export function webhookTargetProblem(url: string, options: { production: boolean }): string | null {
  if (url.length > MAX_URL_LENGTH) return `url must be at most ${MAX_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'url must be an absolute https:// URL';
  }
  if (parsed.username || parsed.password) return 'url must not carry credentials';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (parsed.protocol === 'http:') {
    if (options.production || !isLoopbackHost(parsed.hostname)) return 'url must use https (http only for a loopback receiver outside production)';
  } else if (parsed.protocol !== 'https:') {
    return 'url must be an absolute https:// URL';
  }
  if (options.production && (host === 'localhost' || (ipaddr.isValid(host) && !isPublicAddress(host)))) return 'url must not name a private, loopback or link-local address';
  return null;
}
