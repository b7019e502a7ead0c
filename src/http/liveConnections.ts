import type { GraphQLError } from 'graphql';
import type { WebSocket } from 'ws';
import { PublicError } from '../graphql/errors';

/** Close codes of keyhub's own, in the 4000–4999 range applications may use, apart from graphql-ws's. */
export const CLOSE_TOKEN_EXPIRED = 4401; // graphql-ws's "Unauthorized": the client needs a fresh token
export const CLOSE_SLOW_CONSUMER = 4413;

export const SLOW_CONSUMER_REASON = 'slow consumer: fell too far behind; reconnect with the last cursor you received';
export const TOKEN_EXPIRED_REASON = 'token expired: reconnect with a fresh token and the last cursor you received';

// setTimeout holds at most 2^31-1 ms (about 24.8 days); longer waits are taken in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Closes the connection when the caller's token expires; cleared when the connection closes first. */
export function closeWhenTokenExpires(socket: WebSocket, expiresAtMs: number | undefined, clock: () => number = Date.now): void {
  if (expiresAtMs === undefined) return;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const remaining = expiresAtMs - clock();
    if (remaining <= 0) return socket.close(CLOSE_TOKEN_EXPIRED, TOKEN_EXPIRED_REASON);
    timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

/** graphql-ws's onSubscribe answer once a connection holds its maximum of subscriptions (the new one counted). */
export function subscriptionLimitErrors(activeSubscriptions: number, maxSubscriptions: number): GraphQLError[] | undefined {
  if (activeSubscriptions <= maxSubscriptions) return undefined;
  return [new PublicError('RATE_LIMITED', `a connection may hold at most ${maxSubscriptions} subscriptions; complete one first`)];
}

/** The `authorization` connection parameter may be at most this long (a JWT is a few hundred characters). */
export const MAX_AUTHORIZATION_LENGTH = 4096;

/**
 * Open WebSocket connections, in all and per client address: a handshake over either limit is
 * refused before the upgrade, so a client cannot hold the server's sockets and memory by opening
 * connections it never uses (each one is also dropped if it sends no connection_init in 3 s).
 */
export class ConnectionLimits {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Takes a place for `address` and returns its release, or the error to refuse the handshake with. */
  admit(address: string): (() => void) | PublicError {
    const mine = this.byAddress.get(address) ?? 0;
    if (mine >= this.maxPerAddress) return new PublicError('RATE_LIMITED', `at most ${this.maxPerAddress} WebSocket connections per client address; close one first`, { retryAfterSeconds: 1 });
    if (this.total >= this.maxTotal) return new PublicError('SERVICE_UNAVAILABLE', `the server holds its maximum of ${this.maxTotal} WebSocket connections; retry shortly`);
    this.total += 1;
    this.byAddress.set(address, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    };
  }
}
