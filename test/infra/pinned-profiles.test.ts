import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sourceProfile } from '../../lambda/config/source-config.ts';
import { baseStage, type Json, nestedTemplates, resourcesIn, resourcesOf, synthStage } from './helpers.ts';

/** A CloudFormation string expression rendered with every reference replaced by a placeholder. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(render).join(join[0]);
  return 'REF';
}

describe('pinned source profiles', () => {
  it("every schedule's source definition matches a profile pinned in its function's environment, and a changed one does not", () => {
    const stage = {
      ...baseStage,
      sources: [
        ...baseStage.sources,
        {
          id: 'payroll-short',
          provider: 'papaya' as const,
          environment: 'production' as const,
          secret: { name: 'token-refresher/test/payroll-short' },
          options: { expirationSeconds: 7200 },
          schedule: { periodMinutes: 10, refreshThresholdMinutes: 60 },
        },
      ],
    };
    const { stack, template } = synthStage(stage);
    const pinned = new Map<string, string[]>();
    const pinnedBySource = new Map<string, Record<string, number> | undefined>();
    for (const [, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
      const variables = ((fn.Properties as Json).Environment as { Variables?: Record<string, string> })
        ?.Variables;
      if (!variables?.REFRESHER_PINNED_PROFILES) continue;
      const provider = JSON.parse(variables.REFRESHER_ALLOWED_BASE_URLS ?? '[]')[0].includes('paypack')
        ? 'paypack'
        : 'papaya';
      const { profiles, bySource } = JSON.parse(variables.REFRESHER_PINNED_PROFILES) as {
        profiles: Json[];
        bySource?: Record<string, number>;
      };
      pinnedBySource.set(provider, bySource);
      pinned.set(provider, profiles.map(sourceProfile));
    }
    assert.equal(pinned.get('papaya')?.length, 2, 'two distinct Papaya profiles');
    assert.equal(
      pinnedBySource.get('paypack'),
      undefined,
      'one profile for every Paypack source: no id list',
    );
    const definitions = resourcesIn(nestedTemplates(stack), 'AWS::Scheduler::Schedule').flatMap(
      ([, schedule]) =>
        (JSON.parse(render(((schedule.Properties as Json).Target as Json).Input)) as { sources: Json[] })
          .sources,
    );
    assert.equal(definitions.length, 3);
    for (const definition of definitions) {
      const profiles = pinned.get(String(definition.provider)) ?? [];
      const index = pinnedBySource.get(String(definition.provider))?.[String(definition.id)] ?? 0;
      assert.equal(
        profiles[index],
        sourceProfile(definition),
        `${definition.id} is pinned to its own profile`,
      );
      for (const [other, profile] of profiles.entries())
        if (other !== index) assert.notEqual(profile, sourceProfile(definition), 'and to no other');
      const stretched = { ...definition, http: { maxAttempts: 10 } };
      assert.ok(!profiles.includes(sourceProfile(stretched)), `${definition.id} with other http is not`);
    }
  });
});
