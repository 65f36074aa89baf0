import { OAuth2Provider } from './oauth2.ts';
import { PapayaProvider } from './papaya.ts';
import { PaypackProvider } from './paypack.ts';
import type { AnyTokenProvider } from './provider.ts';

/** Every provider the refresher knows, by the name sources use. A new provider is one entry here. */
export const providerFactories = {
  paypack: () => new PaypackProvider(),
  papaya: () => new PapayaProvider(),
  oauth2: () => new OAuth2Provider(),
} satisfies Record<string, () => AnyTokenProvider>;

export type ProviderName = keyof typeof providerFactories;

export const providerNames = Object.keys(providerFactories) as ProviderName[];
