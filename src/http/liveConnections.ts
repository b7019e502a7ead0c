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
