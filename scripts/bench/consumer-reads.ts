import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import FakeTimers from '@sinonjs/fake-timers';
import { TokenReader } from '../../lambda/consumer/get-token.ts';
import { serializePublishedToken } from '../../lambda/token-contract.ts';
import type { World } from '../../test/support/world.ts';

export interface ConsumerReadsResult {
  requests: number;
  simulatedHours: number;
  ours: { reads: number; expiredServed: number };
  powertools: { reads: number; expiredServed: number; maxAgeSeconds: number };
}

/** An SSM client pointed at moto that counts its GetParameter calls. */
function countingClient(endpoint: string): { client: SSMClient; reads: () => number } {
  let reads = 0;
  const client = new SSMClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetParameterCommand') reads += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countReads' },
  );
  return { client, reads: () => reads };
}

/**
 * Part 2: one warm consumer container serving `requestsPerSecond` for a
 * simulated hour, each request asking for the Paypack token, while the
 * refresher publishes on the production schedule (every 4 min, refresh under
 * 10 min left, 15-minute tokens). Our helper and Powertools Parameters (default
 * 5 s cache) read the same parameter from moto; SSM reads and expired tokens
 * served are counted for each. Only Date is simulated.
 */
export async function benchConsumerReads(
  world: World,
  requestsPerSecond = 10,
  simulatedHours = 1,
): Promise<ConsumerReadsResult> {
  const name = '/bench/consumer/paypack';
  const start = Date.parse('2026-03-02T00:00:00Z');
  const clock = FakeTimers.install({ now: start, toFake: ['Date'] });
  try {
    const ours = countingClient(world.moto.endpoint);
    const powertools = countingClient(world.moto.endpoint);
    const reader = new TokenReader({ ssm: ours.client });
    const provider = new SSMProvider({ awsSdkV3Client: powertools.client });

    let expiresAt = 0;
    let nextRun = start;
    const publishIfDue = async (now: number) => {
      while (nextRun <= now) {
        if (expiresAt - nextRun <= 600_000) {
          expiresAt = nextRun + 900_000;
          const token = `bench-token-${nextRun}`;
          await world.aws.ssm.send(
            new PutParameterCommand({
              Name: name,
              Type: 'SecureString',
              Overwrite: true,
              Value: serializePublishedToken({
                token,
                tokenType: 'Bearer',
                expiresAt: new Date(expiresAt).toISOString(),
                issuedAt: new Date(nextRun).toISOString(),
                provider: 'paypack',
                source: 'bench',
              }),
            }),
          );
        }
        nextRun += 240_000;
      }
    };

    const requests = Math.round(requestsPerSecond * 3600 * simulatedHours);
    let oursExpired = 0;
    let powertoolsExpired = 0;
    for (let index = 0; index < requests; index++) {
      const now = start + Math.floor((index * 1000) / requestsPerSecond);
      await publishIfDue(now);
      clock.setSystemTime(now);
      const token = await reader.getToken(name);
      if (Date.parse(token.expiresAt) <= now) oursExpired += 1;
      const value = (await provider.get(name, { decrypt: true, maxAge: 5 })) as string;
      if (Date.parse(JSON.parse(value).expiresAt) <= now) powertoolsExpired += 1;
    }
    ours.client.destroy();
    powertools.client.destroy();
    return {
      requests,
      simulatedHours,
      ours: { reads: ours.reads(), expiredServed: oursExpired },
      powertools: { reads: powertools.reads(), expiredServed: powertoolsExpired, maxAgeSeconds: 5 },
    };
  } finally {
    clock.uninstall();
  }
}
