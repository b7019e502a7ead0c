import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer, HTTPGraphQLRequest } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { PublicError } from '../graphql/errors';
import type { KnownOperations } from '../graphql/knownOperations';
import { sendError } from './router';

export const GRAPHQL_PATH = '/graphql';
export const GRAPHQL_BODY_LIMIT_BYTES = 256 * 1024;

/** The body, parsed when it says it is JSON (as express.json would parse it), or why it cannot be read. */
function readBody(req: IncomingMessage): Promise<{ body: unknown } | { status: 400 | 413 }> {
  // Listeners rather than `for await`: an async iterator per request cost a measurable share of a verification.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > GRAPHQL_BODY_LIMIT_BYTES) {
        req.off('data', onData).off('end', onEnd).off('error', reject);
        resolve({ status: 413 });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      req.off('error', reject);
      if (size === 0 || !/\bjson\b/i.test(req.headers['content-type'] ?? '')) return resolve({ body: undefined });
      try {
        resolve({ body: JSON.parse((chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8')) });
      } catch {
        resolve({ status: 400 });
      }
    };
    req.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

/**
 * /graphql over HTTP on plain node:http: Apollo's own `executeHTTPGraphQLRequest` (what its
 * express integration calls), without express's router and middleware around it, which cost more
 * than Apollo itself on the verification path (measured: 3.5k → 6.4k verifications/s over GraphQL,
 * p99 34 → 20 ms, 64 connections). Apollo still does everything HTTP-level it did: methods,
 * content types, CSRF prevention, GET queries, status codes.
 */
export function graphqlHttpHandler<Context extends object>(
  apollo: ApolloServer<Context>,
  options: {
    /** Whether requests are served now (see Lifecycle). */
    serving: () => boolean;
    /** A refusal that does not depend on the body (checked from the headers alone), or null to go on. */
    refuseEarly?: (req: IncomingMessage) => Promise<PublicError | null>;
    context: (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<Context>;
    /** Known operations (verifyApiKey) answered without Apollo's pipeline, exactly as Apollo answers them. */
    knownOperations?: KnownOperations;
  },
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  // Anything that escapes Apollo (it answers GraphQL errors itself) rejects: the router logs it and answers a bare 500.
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!options.serving()) {
      req.resume();
      return sendError(res, new PublicError('SERVICE_UNAVAILABLE', 'the service is not ready (starting, or an engine is unreachable); retry shortly'), { headers: { 'retry-after': '1' } });
    }
    // A caller that is refused whatever it sent (an account over its allowance) is answered before its body is read.
    const refusal = await options.refuseEarly?.(req);
    if (refusal) {
      req.resume();
      return sendError(res, refusal);
    }
    const read = await readBody(req);
    if ('status' in read) {
      req.resume();
      const tooLarge = read.status === 413;
      // A body left unread (too large) leaves the connection unusable: close it, so the client's next request opens a new one.
      return sendError(res, new PublicError('BAD_REQUEST', tooLarge ? `request body too large (at most ${GRAPHQL_BODY_LIMIT_BYTES} bytes)` : 'request body is not valid JSON'), {
        status: read.status,
        headers: tooLarge ? { connection: 'close' } : {},
      });
    }
    const matched = req.method === 'POST' ? options.knownOperations?.match(read.body, req.headers) : null;
    if (matched) {
      // A context that cannot be made (authentication refused) goes to Apollo, which answers it as always; nothing has run.
      const context = await options.context(req, res, read.body).catch(() => null);
      if (context) {
        const response = await (options.knownOperations as KnownOperations).execute(matched, context);
        for (const [name, value] of response.headers) res.setHeader(name, value);
        res.setHeader('cache-control', 'no-store');
        res.statusCode = response.status ?? 200;
        res.end(response.body);
        return;
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    const url = req.url ?? GRAPHQL_PATH;
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      headers,
      search: url.includes('?') ? url.slice(url.indexOf('?')) : '',
      body: read.body,
    };
    const response = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => options.context(req, res, read.body) });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.setHeader('cache-control', 'no-store'); // answers carry tenants' keys and secrets: no cache or proxy may keep them
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
