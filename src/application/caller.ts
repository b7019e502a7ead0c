/**
 * Who is calling, from a verified JWT: `sub` is recorded as the actor of every event it causes.
 * `accountId` is null only for a gateway token without an `account` claim: a gateway is not a
 * tenant, and may only verify keys (see graphql/context.ts, which refuses it everything else).
 */
export interface Principal {
  readonly sub: string;
  readonly accountId: string | null;
  readonly roles: readonly string[];
  /** Correlates the events and log lines of one request. */
  readonly requestId: string;
  /** When the caller's token expires (epoch milliseconds); live connections close then. */
  readonly expiresAtMs?: number;
  /** The request's Idempotency-Key header (idempotency.ts), when it sent one. */
  readonly idempotencyKey?: string;
}

/** A caller acting on its own account: what every account-scoped operation gets. */
export interface Caller extends Principal {
  readonly accountId: string;
}

export const ROLE_GATEWAY = 'gateway';
export const ROLE_ADMIN = 'admin';
export const hasRole = (caller: Principal, role: string): boolean => caller.roles.includes(role);

/** The actor recorded for a leak report: the reporter is anonymous. */
export const LEAK_REPORTER = 'anonymous:leak-report';
