import { PapayaProvider } from '../providers/papaya.ts';
import { createRefreshHandler } from './create-refresh-handler.ts';

export const handler = createRefreshHandler({ providers: [new PapayaProvider()] });
