import type * as v from 'valibot';

/** Our own messages are kept; valibot's defaults quote the received value, so only its expectation is used. */
export function explainIssue(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === 'schema' && issue.received === 'undefined') return 'is required';
  if (issue.kind === 'schema' && issue.expected === 'never') return 'is not a known field';
  const isDefaultMessage = /^Invalid /.test(issue.message);
  if (!isDefaultMessage) return issue.message;
  return issue.expected ? `expected ${issue.expected}` : `failed the ${issue.type} check`;
}
