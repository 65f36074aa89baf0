import { PaypackProvider } from '../providers/paypack.ts';
import { createRefreshHandler } from './create-refresh-handler.ts';

export const handler = createRefreshHandler({ providers: [new PaypackProvider()] });
