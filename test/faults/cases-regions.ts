import type { FaultCase } from './fault-cases.ts';

/**
 * A home function with one replica region: the replica fails in each way a
 * region can, and none of them costs the home publish; a failover started while
 * a home run is in flight waits for the run before it starts the standby.
 */
export function regionFaults(): FaultCase[] {
  const behind = (
    name: string,
    fault: 'replica stalled' | 'replica write denied' | 'replica key missing',
    code: RegExp,
  ): FaultCase => ({
    group: 'regions',
    name,
    provider: 'paypack',
    setup: { target: 'region', fault },
    expected: { behaviour: 'published at home; the replica reported behind', message: code },
  });
  return [
    behind(
      'replica region SSM accepts and never answers (1.5 s replica timeout)',
      'replica stalled',
      /^replica eu-west-1 behind: (Aborted|TimeoutError|Stalled)$/,
    ),
    behind(
      'replica region refuses the write (AccessDeniedException)',
      'replica write denied',
      /^replica eu-west-1 behind: AccessDeniedException$/,
    ),
    behind(
      'replica region has no key ARN (its stack not deployed)',
      'replica key missing',
      /^replica eu-west-1 behind: ReplicaKeyMissing$/,
    ),
    {
      group: 'regions',
      name: 'npm run failover to the standby while a home run is in flight',
      provider: 'paypack',
      setup: { target: 'region', fault: 'failover in flight' },
      expected: {
        behaviour: 'finished; the failover waited for it',
        message:
          /^failover to eu-west-1 \(generation \d+\) waited for the run; the run refreshed; home schedule DISABLED$/,
      },
    },
  ];
}
