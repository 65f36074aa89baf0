import * as v from 'valibot';
import { ProviderError } from '../errors.ts';
import { explainIssue } from '../validation.ts';

export const nonEmptyString = v.pipe(v.string('must be a string'), v.trim(), v.nonEmpty('must not be empty'));

/**
 * Validates a provider response body. The error lists each wrong field with what
 * was expected, never what was received: a received value may be a token.
 */
export function parseProviderBody<T>(
  schema: v.GenericSchema<unknown, T>,
  body: unknown,
  where: { sourceId: string; provider: string; route: string },
): T {
  const result = v.safeParse(schema, body);
  if (result.success) return result.output;
  const problems = result.issues.slice(0, 5).map((issue) => {
    const path = v.getDotPath(issue);
    return `${path ? `field "${path}"` : 'body'} ${explainIssue(issue)}`;
  });
  throw new ProviderError(
    where.sourceId,
    'PROVIDER_BAD_RESPONSE',
    `${where.provider} ${where.route} answered with an unexpected body (${problems.join('; ')})`,
  );
}
