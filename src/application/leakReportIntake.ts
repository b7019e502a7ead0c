import { DomainError } from '../domain/errors';
import type { Logger } from '../logger';
import type { LeakReportLimiter } from './leakReportLimiter';

/**
 * Where anonymous leak reports come in: limited (see LeakReportLimiter), then recorded. A report
 * that could not be recorded leaves a live key live, so it is never lost quietly: it is logged
 * here (anonymous requests have no caller for the generic error log to name) and answered
 * SERVICE_UNAVAILABLE, which secret scanners retry.
 */
export class LeakReportIntake {
  constructor(
    private readonly limiter: LeakReportLimiter,
    private readonly logger: Logger,
  ) {}

  async receive(clientAddress: string | null, requestId: string, record: () => Promise<void>): Promise<void> {
    await this.limiter.admit(clientAddress);
    try {
      await record();
    } catch (error) {
      if (error instanceof DomainError) throw error; // the reporter's to fix (a text that is not a keyhub secret)
      this.logger.error({ err: error, requestId, clientAddress }, 'a leak report could not be recorded; the reporter was answered SERVICE_UNAVAILABLE to retry');
      throw new DomainError('SERVICE_UNAVAILABLE', 'the report could not be recorded; retry shortly');
    }
  }
}
