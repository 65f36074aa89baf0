import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { baseStage, type Json, resourcesOf, synthStage } from './helpers.ts';

interface Widget {
  type: string;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
    annotations?: { horizontal?: Json[] };
  };
}

/** The dashboard body with CloudFormation references (region, stack name) replaced by placeholders. */
function dashboardOf(stage: StageConfig): { name: unknown; widgets: Widget[] } {
  const { template } = synthStage(stage);
  const dashboards = resourcesOf(template, 'AWS::CloudWatch::Dashboard');
  assert.equal(dashboards.length, 1, 'one dashboard per deployment');
  const properties = dashboards[0]?.[1].Properties as Json;
  const body = properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  return { name: properties.DashboardName, widgets: JSON.parse(text).widgets };
}

/** The metric names a graph draws (math expressions' inputs included). */
function metricNames(widget: Widget): string[] {
  return (widget.properties.metrics ?? []).flatMap((row) =>
    row.length >= 2 &&
    typeof row[1] === 'string' &&
    row[0] !== '...' &&
    typeof row[0] === 'string' &&
    !row[0].startsWith('{')
      ? [row[1]]
      : [],
  );
}

const handlerSource = [
  'lambda/handlers/create-refresh-handler.ts',
  'lambda/handlers/outcome-metrics.ts',
  'lambda/handlers/run-metrics.ts',
]
  .map((path) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'))
  .join('\n');

describe('the deployment dashboard', () => {
  const { name, widgets } = dashboardOf(baseStage);
  const titled = (title: string) => widgets.find((widget) => widget.properties.title === title);

  it('is named after the stack', () => {
    assert.equal(name, 'TokenRefresher-test-token-refresher');
  });

  it('shows per provider the lowest life left against the threshold and the alarm floor', () => {
    const paypack = titled('paypack: lowest token life left (min)');
    assert.deepEqual(metricNames(paypack as Widget), ['TokenSecondsRemaining']);
    assert.deepEqual(
      paypack?.properties.annotations?.horizontal?.map((line) => [line.label, line.value]),
      [
        ['refresh threshold', 10],
        ['alarm floor', 6],
      ],
    );
    const papaya = titled('papaya: lowest token life left (min)');
    assert.deepEqual(
      papaya?.properties.annotations?.horizontal?.map((line) => line.value),
      [720, 660],
    );
  });

  it('shows per provider outcomes, latency p50/p99, calls, retries, rate limits and lock waits', () => {
    for (const provider of ['paypack', 'papaya']) {
      assert.deepEqual(metricNames(titled(`${provider}: refresh outcomes`) as Widget), [
        'Refreshed',
        'Fresh',
        'RefreshFailed',
      ]);
      const latency = titled(`${provider}: provider call latency (ms)`);
      assert.deepEqual(metricNames(latency as Widget), ['ProviderLatency', 'ProviderLatency']);
      assert.deepEqual(
        latency?.properties.metrics?.map((row) => (row.at(-1) as Json).stat),
        ['p50', 'p99'],
      );
      assert.deepEqual(
        metricNames(titled(`${provider}: calls, retries, rate limits, lock waits, warnings`) as Widget),
        ['ProviderCalls', 'ProviderRetries', 'ProviderRateLimited', 'LockWaits', 'ProviderWarnings'],
      );
    }
  });

  it('draws only metrics the handler emits', () => {
    const drawn = new Set(widgets.flatMap(metricNames));
    assert.ok(drawn.size >= 9);
    for (const metric of drawn)
      assert.match(handlerSource, new RegExp(`'${metric}'`), `${metric} is emitted`);
  });

  it('draws a row per replica region from the metrics the handler emits for it', () => {
    const regional = dashboardOf({ ...baseStage, region: 'eu-west-1', replicaRegions: ['us-east-1'] });
    const life = regional.widgets.find(
      (widget) => widget.properties.title === 'us-east-1: lowest life left on the copied tokens (min)',
    );
    assert.deepEqual(metricNames(life as Widget), [
      'ReplicaTokenSecondsRemaining',
      'ReplicaTokenSecondsRemaining',
    ]);
    const behind = regional.widgets.find((widget) =>
      widget.properties.title?.startsWith('us-east-1: sources whose copy is behind'),
    );
    assert.deepEqual(metricNames(behind as Widget), ['ReplicaBehind']);
    for (const metric of ['ReplicaTokenSecondsRemaining', 'ReplicaBehind'])
      assert.match(handlerSource, new RegExp(`'${metric}'`), `${metric} is emitted`);
    assert.equal(
      widgets.some((widget) => /copied tokens/.test(widget.properties.title ?? '')),
      false,
      'no row without replicas',
    );
  });

  it('draws each source up to the per-source limit, ten to a graph', () => {
    const sources = Array.from({ length: 55 }, (_, index) => ({
      id: `merchant-${index + 1}`,
      provider: 'paypack' as const,
      environment: 'production' as const,
      secret: { name: `token-refresher/test/merchant-${index + 1}` },
    }));
    const many = dashboardOf({
      ...baseStage,
      perSourceAlarms: true,
      secretNamePrefix: { paypack: 'token-refresher/test/' },
      sources: [...baseStage.sources.filter((source) => source.provider === 'paypack'), ...sources],
    });
    const perSource = many.widgets.filter((widget) =>
      widget.properties.title?.startsWith('Token life left per source'),
    );
    assert.equal(perSource.length, 5);
    assert.equal(perSource.at(-1)?.properties.title, 'Token life left per source (min), 41-50 of 56');
    const lines = perSource
      .flatMap((widget) => widget.properties.metrics ?? [])
      .filter((row) => row.includes('Source'));
    assert.equal(lines.length, 50);

    const fleet = dashboardOf({ ...baseStage, perSourceAlarms: false });
    assert.ok(
      fleet.widgets.some((widget) => /Per-source series are off/.test(widget.properties.markdown ?? '')),
    );
  });
});
