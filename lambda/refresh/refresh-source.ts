import type { ResolvedSource } from '../config/source-config.ts';
import { describeUnexpected, RefresherError, type WarningCode } from '../errors.ts';
import { Redactor } from '../redact.ts';
import { type PublishedToken, parsePublishedToken, serializePublishedToken } from '../token-contract.ts';
import { awaitLock } from './await-lock.ts';
import { checkBearerToken } from './bearer-token.ts';
import { issueWithRotationRetry } from './issue-token.ts';
import { probeToken } from './probe-token.ts';
import { fenceOf, type IssueRun, type RefreshDependencies, type RefreshRequest } from './refresh-run.ts';
import { catchUpReplicas, publishToReplicas, type ReplicaOutcome } from './replicate.ts';
import { type LockLease, LockLostError, type RunRecord } from './source-lock.ts';

export type { RefreshDependencies, RefreshLogger, RefreshRequest } from './refresh-run.ts';

interface OutcomeBase {
  sourceId: string;
  provider: string;
  /** Expiry of the token consumers can read now (the new one, or the last good one after a failure). */
  expiresAt?: string;
  secondsRemaining?: number;
  /** What each replica region holds after this run (deployments with replicaRegions only). */
  replicas?: ReplicaOutcome[];
}

export type SourceOutcome =
  | (OutcomeBase & {
      status: 'fresh' | 'refreshed';
      expiresAt: string;
      secondsRemaining: number;
      /** Codes the provider warned of while issuing this token (IssueContext.warn), each once. */
      warnings?: WarningCode[];
    })
  | (OutcomeBase & { status: 'failed'; error: { code: string; message: string } });

/** The lease key of a source: per provider, so IAM can keep each provider's role to its own leases. */
export function leaseKey(providerName: string, sourceId: string): string {
  return `${providerName}/${sourceId}`;
}

/**
 * One refresh cycle for one source: skip when the published token is fresh;
 * otherwise obtain, validate and publish a new one. Nothing is published unless a
 * valid token is in hand, so a failure leaves the last good token in place.
 */
export async function refreshSource(
  source: ResolvedSource,
  deps: RefreshDependencies,
  request: RefreshRequest = {},
): Promise<SourceOutcome> {
  const redactor = new Redactor();
  const base = { sourceId: source.id, provider: source.provider.name };
  const run = { deps, request, redactor, warnings: new Set<WarningCode>() };
  let current: PublishedToken | undefined;
  try {
    current = await readPublished(source, run);
    const seen = current;
    const isFresh = (token: PublishedToken | undefined): token is PublishedToken =>
      token !== undefined && secondsUntil(token.expiresAt, deps.clock()) > source.refreshThresholdSeconds;
    // Another run has done this run's work when the published token is above the threshold again
    // (and, for a forced run, is one this run had not seen).
    const doneByOther = (latest: PublishedToken | undefined): latest is PublishedToken =>
      isFresh(latest) && (!request.force || latest.token !== seen?.token);

    if (!request.force && isFresh(current)) {
      const home = current;
      const replicas = deps.regions?.replicas.length
        ? await catchUpReplicas(deps.regions, source, home, run, {
            leaseKey: leaseKey(source.provider.name, source.id),
            readHome: () => readPublished(source, run),
          })
        : undefined;
      return { ...freshOutcome(base, home, deps), ...(replicas ? { replicas } : {}) };
    }
    if (!deps.lock)
      return await refreshNow(
        source,
        { ...run, lease: undefined, fence: fenceOf(undefined, source.id) },
        base,
      );

    const turn = await awaitLock({
      lock: deps.lock,
      sourceId: source.id,
      key: leaseKey(source.provider.name, source.id),
      readLatest: () => readPublished(source, run),
      doneByOther,
      sleep: deps.httpRuntime.sleep,
      now: deps.httpRuntime.now,
      giveUpAt: Math.min(
        request.deadline ?? Number.POSITIVE_INFINITY,
        deps.httpRuntime.now() + (deps.lockWaitMs ?? 20_000),
      ),
      budget: { deadline: request.storeDeadline },
    });
    if ('publishedByOther' in turn) return freshOutcome(base, turn.publishedByOther, deps);
    return await underLease(
      source,
      { ...run, lease: turn.lease, fence: fenceOf(turn.lease, source.id) },
      base,
      doneByOther,
    );
  } catch (error) {
    const code = error instanceof RefresherError ? error.code : 'UNEXPECTED';
    const message =
      error instanceof RefresherError
        ? redactor.scrub(error.message)
        : `source "${source.id}": unexpected ${describeUnexpected(error)}`;
    const lastGood = current
      ? { expiresAt: current.expiresAt, secondsRemaining: secondsUntil(current.expiresAt, deps.clock()) }
      : {};
    return { ...base, status: 'failed', error: { code, message }, ...lastGood };
  }
}

/** After taking the lease: re-read (another run may have just published), then refresh; always release. */
async function underLease(
  source: ResolvedSource,
  run: IssueRun & { lease: LockLease },
  base: { sourceId: string; provider: string },
  doneByOther: (latest: PublishedToken | undefined) => latest is PublishedToken,
): Promise<SourceOutcome> {
  let record: RunRecord = { status: 'failed', code: 'UNEXPECTED' };
  try {
    const latest = await readPublished(source, run);
    if (doneByOther(latest)) {
      record = { status: 'fresh' };
      return freshOutcome(base, latest, run.deps);
    }
    const outcome = await refreshNow(source, run, base);
    record = { status: 'refreshed' };
    return outcome;
  } catch (error) {
    record = { status: 'failed', code: error instanceof RefresherError ? error.code : 'UNEXPECTED' };
    throw error;
  } finally {
    await run.lease.release(record);
  }
}

function freshOutcome(
  base: { sourceId: string; provider: string },
  token: PublishedToken,
  deps: RefreshDependencies,
): SourceOutcome {
  return {
    ...base,
    status: 'fresh',
    expiresAt: token.expiresAt,
    secondsRemaining: secondsUntil(token.expiresAt, deps.clock()),
  };
}

/** Obtains, validates, probes and publishes a new token; the published token is untouched on any failure. */
async function refreshNow(
  source: ResolvedSource,
  run: IssueRun,
  base: { sourceId: string; provider: string },
): Promise<SourceOutcome> {
  const { deps, request } = run;
  const store = { deadline: request.storeDeadline };
  // A region that is not the active one (after a failover) calls no provider and writes nothing.
  await deps.regions?.assertActive(source.id, request.storeDeadline, run.fence);
  const issued = await issueWithRotationRetry(source, run);
  const published: PublishedToken = {
    token: issued.token,
    tokenType: 'Bearer',
    expiresAt: issued.expiresAt.toISOString(),
    issuedAt: issued.issuedAt.toISOString(),
    provider: source.provider.name,
    source: source.id,
  };
  const value = serializePublishedToken(published);
  if (issued.privateState !== undefined && source.privateParameterName) {
    await keepPrivateState(source, source.privateParameterName, issued.privateState, run);
  }
  checkBearerToken(source, issued.token);
  await probeToken(source, issued.token, run);
  await deps.parameters.writeSecure(
    source.id,
    source.parameterName,
    value,
    source.kmsKeyId,
    store,
    run.fence,
  );
  // Home first: a replica that fails or stalls never costs the home publish.
  const replicas = deps.regions?.replicas.length
    ? await publishToReplicas(deps.regions, source, published, run)
    : undefined;
  return {
    ...base,
    status: 'refreshed',
    ...(replicas ? { replicas } : {}),
    expiresAt: published.expiresAt,
    secondsRemaining: secondsUntil(published.expiresAt, deps.clock()),
    ...(run.warnings.size > 0 ? { warnings: [...run.warnings] } : {}),
  };
}

/**
 * Stores the new private state (Paypack's new refresh token). If that fails, the
 * stored state still says what the provider wrote ahead (the old token is spent),
 * so the token in hand is published anyway: losing the new refresh token costs
 * one authorize next time, nothing more. Every attempt is fenced (an SDK retry
 * too): after a lost lease this run's state would overwrite the new holder's.
 */
async function keepPrivateState(source: ResolvedSource, name: string, state: string, run: IssueRun) {
  const { deps, request } = run;
  try {
    await deps.parameters.writeSecure(
      source.id,
      name,
      state,
      source.kmsKeyId,
      { deadline: request.storeDeadline },
      run.fence,
    );
  } catch (error) {
    if (error instanceof LockLostError) throw error;
    deps.logger.warn('could not store the new private state; publishing the token anyway', {
      source: source.id,
      code: error instanceof RefresherError ? error.code : 'UNEXPECTED',
    });
  }
}

async function readPublished(
  source: ResolvedSource,
  run: Pick<IssueRun, 'deps' | 'request' | 'redactor'>,
): Promise<PublishedToken | undefined> {
  const { deps, request, redactor } = run;
  const stored = await deps.parameters.read(source.id, source.parameterName, {
    deadline: request.storeDeadline,
  });
  if (!stored) return undefined;
  redactor.add(stored.value);
  const token = parsePublishedToken(stored.value);
  if (token) redactor.add(token.token);
  if (!token) {
    deps.logger.warn('published value is not in the token format; replacing it', { source: source.id });
  }
  return token;
}

function secondsUntil(isoInstant: string, now: number): number {
  return Math.floor((Date.parse(isoInstant) - now) / 1000);
}
