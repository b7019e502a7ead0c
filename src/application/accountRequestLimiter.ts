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
      throw this.refusal(error.msBeforeNext);
    }
  }

  /**
   * The refusal the account's next operation would get, without counting anything: checked before a
   * request is parsed, so an account over its allowance costs a lookup, not a parse and validation.
   */
  async refusalIfSpent(accountId: string): Promise<DomainError | null> {
    const state = await this.limiter.get(accountId);
    return state && state.consumedPoints >= this.perSecond ? this.refusal(state.msBeforeNext) : null;
  }

  /** Counts an operation refused before it ran (unparsable, invalid, too costly): it cost parsing and validation all the same. */
  async charge(accountId: string): Promise<void> {
    await this.limiter.penalty(accountId, 1);
  }

  private refusal(msBeforeNext: number): DomainError {
    const afterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return new DomainError('RATE_LIMITED', `this account started more than ${this.perSecond} operations in a second; retry in ${afterSeconds} s`, undefined, undefined, { afterSeconds });
  }
}
