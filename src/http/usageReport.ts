import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenUsageIntake } from '../application/tokenUsageIntake';
import { DomainError } from '../domain/errors';
import { ReadModelUnavailableError } from '../ports/collection';
import type { TokenUsageEntryInput } from '../domain/rules/tokenUsage';
import { answer, guarded, tokenMatcher } from './forwardAuth';

export const USAGE_PATH = '/usage';
/** A report of 1,000 entries with long ids and model names fits well within this. */
export const USAGE_BODY_MAX_BYTES = 512 * 1024;

export interface UsageReportOptions {
  intake: Pick<TokenUsageIntake, 'record'>;
  isReady: () => boolean;
  /** When set, every request must carry it in X-Gateway-Token (FORWARD_AUTH_TOKEN, as /auth). */
  gatewayToken?: string | undefined;
  onError: (error: unknown) => void;
}

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** The body as text, or null once it exceeds `max` bytes (the rest is not buffered). */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        return resolve(null);
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `at` arrives as an ISO instant; the domain takes epoch milliseconds. */
function entriesOf(body: unknown): TokenUsageEntryInput[] {
  const entries = Array.isArray(body) ? body : (body as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw new DomainError('BAD_USER_INPUT', 'the body must be { "entries": [ { "keyId", "promptTokens", "completionTokens", "model"?, "at"? } ] }', 'entries');
  return entries.map((entry: unknown, index) => {
    if (entry === null || typeof entry !== 'object') return entry as TokenUsageEntryInput;
    const { at, ...rest } = entry as Record<string, unknown>;
    if (at == null) return rest as unknown as TokenUsageEntryInput;
    const atMs = typeof at === 'string' ? Date.parse(at) : NaN;
    if (Number.isNaN(atMs)) throw new DomainError('BAD_USER_INPUT', 'at must be an ISO-8601 instant', `entries[${index}].at`);
    return { ...rest, atMs } as unknown as TokenUsageEntryInput;
  });
}

/**
 * `POST /usage`: recordTokenUsage for gateways that do not speak GraphQL, guarded like /auth.
 * Body `{ "entries": [...] }` (the same entries as TokenUsageInput); answers 200
 * `{ recorded, rejected }`, 400 `{ error, field }` for bad input (nothing recorded), 401 without
 * the gateway token, 413 for a body over USAGE_BODY_MAX_BYTES, 503 while starting.
 */
export function usageReportHandler(options: UsageReportOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const gatewayAllowed = options.gatewayToken ? tokenMatcher(options.gatewayToken) : () => true;
  return guarded((req, res, fail) => {
    if (req.method !== 'POST') return answer(res, 405, { allow: 'POST' }, { error: 'METHOD_NOT_ALLOWED' });
    if (!options.isReady()) return answer(res, 503, { 'retry-after': '1' }, { error: 'STARTING' });
    if (!gatewayAllowed(single(req.headers['x-gateway-token']))) return answer(res, 401, {}, { error: 'GATEWAY_UNAUTHENTICATED' });
    readBody(req, USAGE_BODY_MAX_BYTES)
      .then(async (text) => {
        if (text === null) return answer(res, 413, { connection: 'close' }, { error: 'PAYLOAD_TOO_LARGE' });
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return answer(res, 400, {}, { error: 'BAD_USER_INPUT', message: 'the body is not JSON', field: null });
        }
        try {
          const outcome = await options.intake.record(entriesOf(body));
          answer(res, 200, {}, outcome);
        } catch (error) {
          // The read model did not answer: nothing was recorded, the gateway may send the report again.
          if (error instanceof ReadModelUnavailableError) return answer(res, 503, { 'retry-after': '1' }, { error: 'UNAVAILABLE' });
          if (!(error instanceof DomainError)) throw error;
          const status = error.code === 'BAD_USER_INPUT' ? 400 : error.code === 'SERVICE_UNAVAILABLE' ? 503 : 500;
          answer(res, status, {}, { error: error.code, message: error.message, field: error.field ?? null });
        }
      })
      .catch(fail);
  }, options.onError);
}
