import type ipaddr from 'ipaddr.js';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../domain/errors';
import { parseAddress } from '../domain/rules/ipAllowlist';

export interface LeakReportLimits {
  /** Reports one client (an IPv4 address, an IPv6 /64) may make per minute. */
  perAddressPerMinute: number;
  /** Reports all clients together may make per minute: what bounds a client that can choose its address. */
  totalPerMinute: number;
}

/** Every text that is not an IP address (a forged X-Forwarded-For) counts as one client. */
const UNPARSEABLE = 'unparseable';
const TOTAL = 'total';

/**
 * Whom a report is counted against: an IPv4 address, or an IPv6 address's /64 (one subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would give each 2^64 allowances).
 */
export function clientKeyOf(clientAddress: string | null): string {
  const address = clientAddress === null ? null : parseAddress(clientAddress);
  if (address === null) return UNPARSEABLE;
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((part) => part.toString(16)).join(':')}::/64`;
}

const retryIn = (error: RateLimiterRes): number => Math.max(1, Math.ceil(error.msBeforeNext / 1000));

/**
 * Leak reports need no login, so they are limited per client (the address the trusted proxy
 * chain yields, see http/clientAddress.ts) and, because a client behind `TRUST_PROXY=true` or a
 * botnet can present any number of addresses, in total. Counted in this process (each instance of
 * a scaled-out deployment counts its own).
 */
export class LeakReportLimiter {
  private readonly perClient: RateLimiterMemory;
  private readonly total: RateLimiterMemory;

  constructor(private readonly limits: LeakReportLimits) {
    this.perClient = new RateLimiterMemory({ points: limits.perAddressPerMinute, duration: 60 });
    this.total = new RateLimiterMemory({ points: limits.totalPerMinute, duration: 60 });
  }

  /** Counts one report from the address; RATE_LIMITED once its client's or everyone's allowance for the minute is spent. */
  async admit(clientAddress: string | null): Promise<void> {
    // Refused before a client is counted: once the ceiling is reached, new addresses add nothing to memory.
    const spent = await this.total.get(TOTAL);
    if (spent && spent.consumedPoints >= this.limits.totalPerMinute) throw this.everyone(spent);
    try {
      await this.perClient.consume(clientKeyOf(clientAddress));
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw new DomainError('RATE_LIMITED', `too many leak reports from this address; retry in ${retryIn(error)} s`);
    }
    try {
      await this.total.consume(TOTAL);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw this.everyone(error);
    }
  }

  private everyone(spent: RateLimiterRes): DomainError {
    return new DomainError('RATE_LIMITED', `too many leak reports from all addresses together; retry in ${retryIn(spent)} s`);
  }
}
