/**
 * The providers' names, with no provider code behind them: the construct's public
 * types use this, so its declarations need none of the refresher's dependencies.
 * `providers/index.ts` checks that its factories match this list.
 */
export const PROVIDER_NAMES = ['paypack', 'papaya', 'oauth2'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
