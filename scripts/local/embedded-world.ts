import { randomBytes, randomUUID } from 'node:crypto';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import { PapayaSandbox } from '../../test/sandboxes/papaya-sandbox.ts';
import { PaypackSandbox } from '../../test/sandboxes/paypack-sandbox.ts';
import { awsClients, createLockTable, putSecret, TEST_REGION } from '../../test/support/aws.ts';
import { startMoto } from '../../test/support/moto.ts';

const LOCK_TABLE = 'token-refresher-locks';
/** Like a deployed stage's prefix (`/token-refresher/<stage>`), with `local` as the stage. */
export const LOCAL_PREFIX = '/token-refresher/local';

/**
 * The embedded default of local mode: moto and both sandboxes on loopback, demo
 * credentials in (emulated) Secrets Manager, and one source per provider with the
 * production schedule (Paypack every 4 min, refresh under 10 min left) or a demo one (Papaya's token is
 * shortened to 1 h so it visibly refreshes).
 */
export async function startEmbeddedWorld(now: () => number) {
  const moto = await startMoto();
  const paypack = new PaypackSandbox({ now });
  const papaya = new PapayaSandbox({ now });
  const [paypackUrl, papayaUrl] = await Promise.all([paypack.start(), papaya.start()]);
  const clients = awsClients(moto.endpoint);
  await createLockTable(clients.dynamodb, LOCK_TABLE);

  const paypackCredentials = {
    client_id: randomUUID(),
    client_secret: randomBytes(24).toString('base64url'),
  };
  const papayaCredentials = { api_key: randomUUID(), client_secret: randomBytes(24).toString('base64url') };
  paypack.addApplication(paypackCredentials.client_id, paypackCredentials.client_secret);
  papaya.addApiKey(papayaCredentials.api_key, papayaCredentials.client_secret);
  await putSecret(clients.secretsManager, 'token-refresher/demo-paypack', JSON.stringify(paypackCredentials));
  await putSecret(clients.secretsManager, 'token-refresher/demo-papaya', JSON.stringify(papayaCredentials));

  const sources: {
    definition: SourceDefinition & { id: string; provider: string };
    periodSeconds: number;
  }[] = [
    {
      definition: {
        id: 'demo-paypack',
        provider: 'paypack',
        baseUrl: paypackUrl,
        secretId: 'token-refresher/demo-paypack',
        parameterName: `${LOCAL_PREFIX}/tokens/paypack/demo-paypack`,
        privateParameterName: `${LOCAL_PREFIX}/private/paypack/demo-paypack/refresh-token`,
        refreshThresholdSeconds: 600,
      },
      periodSeconds: 240,
    },
    {
      definition: {
        id: 'demo-papaya',
        provider: 'papaya',
        baseUrl: papayaUrl,
        secretId: 'token-refresher/demo-papaya',
        parameterName: `${LOCAL_PREFIX}/tokens/papaya/demo-papaya`,
        refreshThresholdSeconds: 1800,
        options: { expirationSeconds: 3600 },
      },
      periodSeconds: 600,
    },
  ];

  return {
    clients,
    lockTable: LOCK_TABLE,
    sources,
    motoEndpoint: moto.endpoint,
    region: TEST_REGION,
    paypackUrl,
    papayaUrl,
    /** Everything secret in this world: for the local-mode test's leak scan. */
    sensitiveValues: () => [
      ...Object.values(paypackCredentials),
      ...Object.values(papayaCredentials),
      ...paypack.issued,
      ...papaya.issued.map((issued) => issued.token),
    ],
    stop: async () => {
      clients.ssm.destroy();
      clients.secretsManager.destroy();
      clients.dynamodb.destroy();
      await Promise.all([paypack.stop(), papaya.stop(), moto.stop()]);
    },
  };
}
