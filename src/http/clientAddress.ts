import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * The client's address as express's `req.ip` gives it, from TRUST_PROXY as express takes it: a
 * hop count, true/false, or addresses and names (`loopback, 10.0.0.0/8`). Unset: the socket's peer.
 */
export function clientAddressOf(trustProxy: string | undefined): (req: IncomingMessage) => string | null {
  if (trustProxy === undefined || trustProxy === 'false') return (req) => req.socket.remoteAddress ?? null;
  const trust: (address: string, hop: number) => boolean =
    trustProxy === 'true'
      ? () => true
      : /^\d+$/.test(trustProxy)
        ? (_address, hop) => hop < Number(trustProxy)
        : proxyaddr.compile(trustProxy.split(',').map((entry) => entry.trim()));
  return (req) => proxyaddr(req, trust);
}
