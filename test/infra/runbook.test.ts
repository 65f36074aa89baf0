import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RUNBOOK_SECTIONS } from '../../infra/refresher-alarms.ts';
import { ERROR_CODES, WARNING_CODES } from '../../lambda/errors.ts';
import { baseStage, type Json, nestedTemplates, resourcesIn, resourcesOf, synthStage } from './helpers.ts';

const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

const anchors = new Set([...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((match) => anchor(match[1] ?? '')));

/** Every error code written in the refresher's source: `code = 'X'` fields, and codes passed to error constructors. */
function codesInSource(dir: string): Set<string> {
  const codes = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    // The consumer library runs in other people's functions: its errors are not refresh outcomes.
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.parentPath.includes('consumer')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const match of text.matchAll(/\bcode(?:\s*=|:)\s*'([A-Z][A-Z_]+)'/g)) codes.add(match[1] ?? '');
    for (const match of text.matchAll(/'((?:SECRET|PROVIDER)_[A-Z_]+|DEADLINE_EXCEEDED)'/g))
      codes.add(match[1] ?? '');
  }
  return codes;
}

describe('alarms, error codes and runbook sections stay in step', () => {
  it('every error code written in lambda/ is listed in ERROR_CODES', () => {
    const written = codesInSource(new URL('../../lambda', import.meta.url).pathname);
    assert.ok(written.has('LOCK_BUSY') && written.has('STORE_FAILED') && written.has('UNEXPECTED'));
    const listed = new Set<string>(ERROR_CODES);
    assert.deepEqual(
      [...written].filter((code) => !listed.has(code)),
      [],
      'add new codes to ERROR_CODES in lambda/errors.ts (and a section to docs/runbook.md)',
    );
  });

  it('every error code has a runbook section', () => {
    assert.deepEqual(
      ERROR_CODES.filter((code) => !anchors.has(anchor(code))),
      [],
    );
  });

  it('every warning code has a runbook section', () => {
    assert.deepEqual(
      WARNING_CODES.filter((code) => !anchors.has(anchor(code))),
      [],
    );
  });

  it("every alarm's description links to an existing runbook section", () => {
    const { stack, template } = synthStage({
      ...baseStage,
      region: 'eu-west-1',
      replicaRegions: ['us-east-1'],
      sources: [
        ...baseStage.sources,
        { ...baseStage.sources[0], id: 'second', secret: { create: true } },
      ] as typeof baseStage.sources,
    });
    const alarms = [
      ...resourcesOf(template, 'AWS::CloudWatch::Alarm'),
      ...resourcesIn(nestedTemplates(stack), 'AWS::CloudWatch::Alarm'),
    ];
    assert.ok(
      alarms.length >= 7,
      `dead letters, 2 x errors, 2 x provider stale, per-source stale: ${alarms.length}`,
    );
    const linked = new Set<string>();
    for (const [id, alarm] of alarms) {
      const description = String((alarm.Properties as Json).AlarmDescription);
      const section = /Runbook: docs\/runbook\.md#([\w-]+)$/.exec(description)?.[1];
      assert.ok(section, `${id} names its runbook section: ${description}`);
      assert.ok(anchors.has(section), `docs/runbook.md has a section #${section}`);
      linked.add(section);
    }
    assert.deepEqual(
      [...linked].sort(),
      Object.values(RUNBOOK_SECTIONS).sort(),
      'every alarm kind was synthesized',
    );
  });
});
