import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

type Trust = (address: string, hop: number) => boolean;

/** TRUST_PROXY as express takes it: a hop count, true/false, or addresses, CIDR ranges and names (`loopback, 10.0.0.0/8`). */
function trustOf(trustProxy: string): Trust {
  if (trustProxy === 'true' || trustProxy === 'false') return () => trustProxy === 'true';
  if (/^\d+$/.test(trustProxy)) return (_address, hop) => hop < Number(trustProxy);
  return proxyaddr.compile(trustProxy.split(',').map((entry) => entry.trim()));
}

/** Why TRUST_PROXY cannot be used (for the start-up check), or null when it can. */
export function trustProxyProblem(trustProxy: string): string | null {
  try {
    trustOf(trustProxy);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * The client's address as express's `req.ip` gives it, for /graphql and /auth alike: the socket's
 * peer, or, when that peer is a trusted proxy (TRUST_PROXY), the right-most X-Forwarded-For entry
 * not added by a trusted proxy. Unset (or `false`): the socket's peer, and X-Forwarded-For is
 * ignored, since whoever connects can write it.
 */
export function clientAddressOf(trustProxy: string | undefined): (req: IncomingMessage) => string | null {
  if (trustProxy === undefined || trustProxy === 'false') return (req) => req.socket.remoteAddress ?? null;
  const trust = trustOf(trustProxy);
  return (req) => proxyaddr(req, trust);
}
