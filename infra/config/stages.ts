import type { StageConfig } from './stage-config.ts';

/**
 * The deployments of this token refresher. Edit this file to add sources,
 * stages or endpoints; `npx cdk synth` checks every stage and says what to fix.
 *
 * Papaya's hosts are handed out by Papaya's integration support (sandbox and
 * production differ, with separate keys): the `.invalid` hosts and the
 * example.com addresses below are placeholders. Both stages are therefore
 * marked `example: true`: they synthesize, but CloudFormation refuses to deploy
 * them. Replace the placeholders, then remove `example: true`.
 */
export const stages: StageConfig[] = [
  {
    name: 'dev',
    example: true,
    // Consumers run in two regions: tokens are copied to eu-west-1, where a standby waits (docs/regions.md).
    region: 'us-east-1',
    replicaRegions: ['eu-west-1'],
    standbyRegion: 'eu-west-1',
    alarmEmail: 'platform-alerts@example.com',
    endpoints: {
      papaya: { sandbox: 'https://papaya-sandbox-api.invalid/api' },
      oauth2: { sandbox: 'https://api-m.sandbox.paypal.com' },
    },
    sources: [
      { id: 'paypack-cashin', provider: 'paypack', environment: 'production', secret: { create: true } },
      {
        id: 'papaya-payroll',
        provider: 'papaya',
        environment: 'sandbox',
        secret: { create: true },
        options: { expirationSeconds: 86_400 },
      },
      {
        // Any OAuth 2.0 client-credentials API by configuration (docs/oauth2.md); here PayPal's sandbox.
        id: 'paypal-payouts',
        provider: 'oauth2',
        environment: 'sandbox',
        secret: { create: true },
        options: { tokenUrl: '/v1/oauth2/token', expectedLifetimeSeconds: 32_400 },
      },
    ],
    exampleConsumerSourceId: 'paypack-cashin',
  },
  {
    name: 'prod',
    example: true,
    alarmEmail: 'platform-oncall@example.com',
    endpoints: {
      papaya: { production: 'https://papaya-production-api.invalid/api' },
    },
    sources: [
      {
        id: 'paypack-cashin',
        provider: 'paypack',
        environment: 'production',
        secret: { name: 'token-refresher/prod/paypack-cashin' },
      },
      {
        id: 'paypack-cashout',
        provider: 'paypack',
        environment: 'production',
        secret: { name: 'token-refresher/prod/paypack-cashout' },
      },
      {
        id: 'papaya-payroll',
        provider: 'papaya',
        environment: 'production',
        secret: { name: 'token-refresher/prod/papaya-payroll' },
        schedule: { periodMinutes: 60, refreshThresholdMinutes: 720 },
      },
    ],
  },
];
