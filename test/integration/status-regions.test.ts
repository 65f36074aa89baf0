import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { serializePublishedToken } from '../../lambda/token-contract.ts';
import { activeRegionLine, collectStatus, renderStatus } from '../../scripts/ops/status.ts';
import type { OpsTarget } from '../../scripts/ops/target.ts';
import { freePort } from '../support/moto.ts';
import { World } from '../support/world.ts';

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const PREFIX = '/token-refresher/status';

describe('npm run status for a stage with replica regions (moto, three regions)', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  const put = (
    ssm: SSMClient,
    name: string,
    value: string,
    type: 'String' | 'SecureString' = 'SecureString',
  ) => ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: type, Overwrite: true }));
  const token = (id: string, expiresInSeconds: number) =>
    serializePublishedToken({
      token: `token-${id}-${expiresInSeconds}`,
      tokenType: 'Bearer',
      expiresAt: new Date(Date.now() + expiresInSeconds * 1000).toISOString(),
      issuedAt: new Date(Date.now() - 60_000).toISOString(),
      provider: 'paypack',
      source: id,
    });

  it('shows the active region and, per source, each copy: its life left, BEHIND, MISSING or unreachable', async () => {
    const euWest = new SSMClient({ endpoint: world.moto.endpoint, region: 'eu-west-1', credentials });
    const dead = new SSMClient({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      region: 'ap-south-1',
      credentials,
      maxAttempts: 1,
    });
    const names = ['a', 'b'].map((id) => `${PREFIX}/tokens/paypack/${id}`);
    await put(world.aws.ssm, names[0] as string, token('a', 600));
    await put(world.aws.ssm, names[1] as string, token('b', 600));
    await put(euWest, names[0] as string, token('a', 600));
    await put(
      euWest,
      `${PREFIX}/meta/active-region`,
      JSON.stringify({ region: 'eu-west-1', generation: 2 }),
      'String',
    );
    const target: OpsTarget = {
      description: 'test',
      ssm: world.aws.ssm,
      dynamodb: world.aws.dynamodb,
      lockTable: undefined,
      sources: ['a', 'b'].map((id, index) => ({
        id,
        provider: 'paypack',
        parameterName: names[index] as string,
        refreshThresholdSeconds: 600,
      })),
      now: Date.now,
      elapsedSeconds: (since) => (Date.now() - since) / 1000,
      refresh: async () => {
        throw new Error('not used');
      },
      replicas: [
        { region: 'eu-west-1', ssm: euWest },
        { region: 'ap-south-1', ssm: dead },
      ],
      activeRegionParameter: `${PREFIX}/meta/active-region`,
      homeRegion: 'us-east-1',
    };
    const rows = await collectStatus(target);
    assert.match(rows[0]?.copies ?? '', /^eu-west-1 \d+m\d{2}s, ap-south-1 unreachable$/);
    assert.equal(rows[1]?.copies, 'eu-west-1 MISSING, ap-south-1 unreachable');
    assert.match(renderStatus(rows), /WARNING\s+COPIES/);
    assert.equal(await activeRegionLine(target), 'active region: eu-west-1 (failover generation 2)');

    await put(euWest, names[1] as string, token('b', 120));
    assert.match((await collectStatus(target))[1]?.copies ?? '', /^eu-west-1 \dm\d{2}s BEHIND, /);
    euWest.destroy();
    dead.destroy();
  });
});
