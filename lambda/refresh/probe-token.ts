import type { ResolvedSource } from '../config/source-config.ts';
import { ProviderError } from '../errors.ts';
import { joinUrl } from '../http/url-policy.ts';
import { type IssueRun, providerHttp } from './issue-token.ts';

/**
 * The check before publishing (the testSecret step of AWS's rotation protocol):
 * the new token is used once on the provider's harmless probe path. A refusal
 * (401/403) stops the publish, so the last good token stays; a probe that cannot
 * be completed (unreachable, 5xx, timeout) proves nothing either way, so it is
 * logged and the token is published.
 */
export async function probeToken(source: ResolvedSource, token: string, run: IssueRun): Promise<void> {
  const path = source.probe ? source.provider.probePath?.(source.options) : undefined;
  if (path === undefined) return;
  try {
    await providerHttp(source, run).send({
      route: 'probe',
      method: 'GET',
      url: joinUrl(source.baseUrl, path),
      bearerToken: token,
      retry: false,
    });
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const status = error.status ?? 0;
    if (status >= 200 && status < 300) return; // answered, just not with JSON: the token was accepted
    if (status === 401 || status === 403) {
      throw new ProviderError(
        source.id,
        'PROVIDER_TOKEN_REJECTED',
        `${source.provider.name} refused the new token at its probe (HTTP ${status}); it was not published and the last good token stays`,
        { status },
      );
    }
    run.deps.logger.warn('token probe inconclusive; publishing anyway', {
      source: source.id,
      code: error.code,
      status,
    });
  }
}
