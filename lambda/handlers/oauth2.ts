import { OAuth2Provider } from '../providers/oauth2.ts';
import { createRefreshHandler } from './create-refresh-handler.ts';

export const handler = createRefreshHandler({ providers: [new OAuth2Provider()] });
