import { OAuth2Provider } from './oauth2.ts';
import { PapayaProvider } from './papaya.ts';
import { PaypackProvider } from './paypack.ts';
import type { AnyTokenProvider } from './provider.ts';
import type { ProviderName } from './provider-names.ts';

export type { ProviderName } from './provider-names.ts';

/**
 * Every provider the refresher knows, by the name sources use. A new provider is one entry here and its
 * name in provider-names.ts (`satisfies` refuses a factory without a name, or a name without a factory).
 */
export const providerFactories = {
  paypack: () => new PaypackProvider(),
  papaya: () => new PapayaProvider(),
  oauth2: () => new OAuth2Provider(),
} satisfies Record<ProviderName, () => AnyTokenProvider>;

export const providerNames = Object.keys(providerFactories) as ProviderName[];
