import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../domain/errors';

/**
 * Leak reports need no login, so they are limited per client address: a fixed number per minute.
 * Counted in this process (each instance of a scaled-out deployment counts its own).
 */
export class LeakReportLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(perMinute: number) {
    this.limiter = new RateLimiterMemory({ points: perMinute, duration: 60 });
  }

  /** Counts one report from the address; RATE_LIMITED once its allowance for the minute is spent. */
  async admit(clientAddress: string | null): Promise<void> {
    try {
      await this.limiter.consume(clientAddress ?? 'unknown');
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw new DomainError('RATE_LIMITED', `too many leak reports from this address; retry in ${Math.ceil(error.msBeforeNext / 1000)} s`);
    }
  }
}
