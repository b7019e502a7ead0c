import type { TokenUsageEntryInput } from '../domain/rules/tokenUsage';
import { parseTokenUsage } from '../domain/rules/tokenUsage';
import type { KeyOwners } from '../readModel/keyLookups';

export interface TokenMeter {
  recordTokens(keyId: string, accountId: string, at: number, promptTokens: number, completionTokens: number): void;
}

export interface TokenUsageOutcome {
  recorded: number;
  /** Entries for keys that do not exist or were deleted. */
  rejected: number;
}

/**
 * Gateways' token reports (recordTokenUsage, POST /usage): checked whole, each key's owner looked
 * up once per report, then counted in memory like verifications (the usage recorder flushes them).
 * A report for an unknown or deleted key is counted as rejected, never an error for the batch.
 */
export class TokenUsageIntake {
  constructor(
    private readonly owners: KeyOwners,
    private readonly meter: TokenMeter,
    private readonly clock: () => number = Date.now,
  ) {}

  async record(raw: readonly TokenUsageEntryInput[]): Promise<TokenUsageOutcome> {
    const entries = parseTokenUsage(raw, this.clock());
    const owners = await this.owners.accountsOf([...new Set(entries.map((entry) => entry.keyId))]);
    let recorded = 0;
    for (const entry of entries) {
      const accountId = owners.get(entry.keyId);
      if (accountId === undefined) continue;
      this.meter.recordTokens(entry.keyId, accountId, entry.atMs, entry.promptTokens, entry.completionTokens);
      recorded += 1;
    }
    return { recorded, rejected: entries.length - recorded };
  }
}
