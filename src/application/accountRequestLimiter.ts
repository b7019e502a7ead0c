import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../domain/errors';

/**
 * Per-account fairness: one account's burst of requests must not starve the others. Each account
 * may start a fixed number of operations per second; beyond, RATE_LIMITED with the seconds until
 * its allowance renews. Counted in this process (each instance of a scaled-out deployment counts
 * its own); an account's counter lives only while it is sending.
 */
export class AccountRequestLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly perSecond: number) {
    this.limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
  }

  /** Counts one operation of the account; RATE_LIMITED once its allowance for the second is spent. */
  async admit(accountId: string): Promise<void> {
    try {
      await this.limiter.consume(accountId);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      const afterSeconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
      throw new DomainError('RATE_LIMITED', `this account started more than ${this.perSecond} operations in a second; retry in ${afterSeconds} s`, undefined, undefined, { afterSeconds });
    }
  }
}
