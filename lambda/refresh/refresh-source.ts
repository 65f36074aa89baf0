import type { Logger } from '@aws-lambda-powertools/logger';
import * as v from 'valibot';
import type { ResolvedSource } from '../config/source-config.ts';
import { describeUnexpected, ProviderError, RefresherError, SecretError } from '../errors.ts';
import { type HttpRuntime, ProviderHttpClient } from '../http/provider-http-client.ts';
import type { IssuedToken } from '../providers/provider.ts';
import { Redactor } from '../redact.ts';
import { type PublishedToken, parsePublishedToken, serializePublishedToken } from '../token-contract.ts';
import { explainIssue } from '../validation.ts';
import { awaitLock } from './await-lock.ts';
import type { CredentialCache } from './credential-cache.ts';
import type { ParameterStore } from './parameter-store.ts';
import type { RunRecord, SourceLock } from './source-lock.ts';

/** The subset of Powertools Logger the refresh cycle uses. */
export type RefreshLogger = Pick<Logger, 'info' | 'warn'>;

export interface RefreshDependencies {
  parameters: ParameterStore;
  credentials: CredentialCache;
  httpRuntime: HttpRuntime;
  /** Milliseconds since the epoch used for token lifetimes (a simulated clock in local mode). */
  clock: () => number;
  deploymentName: string;
  logger: RefreshLogger;
  /** Serialises runs per source; without it, overlapping runs for one source may both refresh. */
  lock?: SourceLock;
  /** Longest wait for another run's lock before this run fails with LOCK_BUSY. */
  lockWaitMs?: number;
}

export interface RefreshRequest {
  /** Refresh even when the published token is still fresh. */
  force?: boolean;
  /** Wall-clock ms by which provider calls and retries must have stopped. */
  deadline?: number;
}

interface OutcomeBase {
  sourceId: string;
  provider: string;
  /** Expiry of the token consumers can read now (the new one, or the last good one after a failure). */
  expiresAt?: string;
  secondsRemaining?: number;
}

export type SourceOutcome =
  | (OutcomeBase & { status: 'fresh' | 'refreshed'; expiresAt: string; secondsRemaining: number })
  | (OutcomeBase & { status: 'failed'; error: { code: string; message: string } });

/**
 * One refresh cycle for one source: skip when the published token is fresh;
 * otherwise obtain, validate and publish a new one. Nothing is written unless a
 * valid token is in hand, so a failure leaves the last good token in place.
 */
export async function refreshSource(
  source: ResolvedSource,
  deps: RefreshDependencies,
  request: RefreshRequest = {},
): Promise<SourceOutcome> {
  const redactor = new Redactor();
  const base = { sourceId: source.id, provider: source.provider.name };
  let current: PublishedToken | undefined;
  try {
    current = await readPublished(source, deps, redactor);
    const seen = current;
    const isFresh = (token: PublishedToken | undefined): token is PublishedToken =>
      token !== undefined && secondsUntil(token.expiresAt, deps.clock()) > source.refreshThresholdSeconds;
    // Another run has done this run's work when it published a token this run had not seen,
    // or (unless forced) when the published token is fresh again.
    const doneByOther = (latest: PublishedToken | undefined): latest is PublishedToken =>
      latest !== undefined && (latest.token !== seen?.token || (!request.force && isFresh(latest)));

    if (!request.force && isFresh(current)) return freshOutcome(base, current, deps);
    if (!deps.lock) return await refreshNow(source, deps, request, redactor, base);

    const turn = await awaitLock({
      lock: deps.lock,
      sourceId: source.id,
      readLatest: () => readPublished(source, deps, redactor),
      doneByOther,
      sleep: deps.httpRuntime.sleep,
      now: deps.httpRuntime.now,
      giveUpAt: Math.min(
        request.deadline ?? Number.POSITIVE_INFINITY,
        deps.httpRuntime.now() + (deps.lockWaitMs ?? 20_000),
      ),
    });
    if ('publishedByOther' in turn) return freshOutcome(base, turn.publishedByOther, deps);
    let record: RunRecord = { status: 'failed', code: 'UNEXPECTED' };
    try {
      const latest = await readPublished(source, deps, redactor);
      if (doneByOther(latest)) {
        record = { status: 'fresh' };
        return freshOutcome(base, latest, deps);
      }
      const outcome = await refreshNow(source, deps, request, redactor, base);
      record = { status: 'refreshed' };
      return outcome;
    } catch (error) {
      record = { status: 'failed', code: error instanceof RefresherError ? error.code : 'UNEXPECTED' };
      throw error;
    } finally {
      await turn.lease.release(record);
    }
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

/** Obtains, validates and publishes a new token; writes nothing unless a valid token is in hand. */
async function refreshNow(
  source: ResolvedSource,
  deps: RefreshDependencies,
  request: RefreshRequest,
  redactor: Redactor,
  base: { sourceId: string; provider: string },
): Promise<SourceOutcome> {
  const issued = await issueWithRotationRetry(source, deps, request, redactor);
  if (issued.privateState !== undefined && source.privateParameterName) {
    await keepPrivateState(source, source.privateParameterName, issued.privateState, deps, request.deadline);
  }
  const published: PublishedToken = {
    token: issued.token,
    tokenType: 'Bearer',
    expiresAt: issued.expiresAt.toISOString(),
    issuedAt: issued.issuedAt.toISOString(),
    provider: source.provider.name,
    source: source.id,
  };
  await deps.parameters.writeSecure(
    source.id,
    source.parameterName,
    serializePublishedToken(published),
    source.kmsKeyId,
    request.deadline,
  );
  return {
    ...base,
    status: 'refreshed',
    expiresAt: published.expiresAt,
    secondsRemaining: secondsUntil(published.expiresAt, deps.clock()),
  };
}

/**
 * Stores the new private state (Paypack's new refresh token). If that fails the
 * old state may describe a spent token: it is replaced by the provider's
 * "nothing usable" marker where possible, and the token in hand is still
 * published — losing the refresh token costs one authorize next time, nothing more.
 */
async function keepPrivateState(
  source: ResolvedSource,
  name: string,
  state: string,
  deps: RefreshDependencies,
  deadline: number | undefined,
): Promise<void> {
  try {
    await deps.parameters.writeSecure(source.id, name, state, source.kmsKeyId, deadline);
  } catch (error) {
    deps.logger.warn('could not store the new private state; publishing the token anyway', {
      source: source.id,
      code: error instanceof RefresherError ? error.code : 'UNEXPECTED',
    });
    const discarded = source.provider.discardedPrivateState;
    if (discarded === undefined) return;
    await deps.parameters.writeSecure(source.id, name, discarded, source.kmsKeyId, deadline).catch(() => {
      deps.logger.warn('could not discard the old private state either', { source: source.id });
    });
  }
}

async function readPublished(
  source: ResolvedSource,
  deps: RefreshDependencies,
  redactor: Redactor,
): Promise<PublishedToken | undefined> {
  const stored = await deps.parameters.read(source.id, source.parameterName);
  if (!stored) return undefined;
  redactor.add(stored.value);
  const token = parsePublishedToken(stored.value);
  if (token) redactor.add(token.token);
  if (!token) {
    deps.logger.warn('published value is not in the token format; replacing it', { source: source.id });
  }
  return token;
}

/** Obtains a token; on an auth rejection re-reads the secret once and, if it changed, tries once more. */
async function issueWithRotationRetry(
  source: ResolvedSource,
  deps: RefreshDependencies,
  request: RefreshRequest,
  redactor: Redactor,
): Promise<IssuedToken> {
  const secret = await deps.credentials.get(source.id, source.secretId);
  try {
    return await issue(source, deps, request, redactor, secret, true);
  } catch (error) {
    if (!(error instanceof ProviderError) || !error.isAuthFailure) throw error;
    const reread = await deps.credentials.reload(source.id, source.secretId);
    if (reread === secret) throw error;
    deps.logger.info('credentials were rejected and the secret has changed; retrying with the new value', {
      source: source.id,
    });
    // Start clean with the new credentials: private state (a refresh token) was already tried.
    return issue(source, deps, request, redactor, reread, false);
  }
}

async function issue(
  source: ResolvedSource,
  deps: RefreshDependencies,
  request: RefreshRequest,
  redactor: Redactor,
  secretString: string,
  usePrivateState: boolean,
): Promise<IssuedToken> {
  const credentials = parseCredentials(source, secretString, redactor);
  const { privateParameterName } = source;
  const privateState =
    privateParameterName && usePrivateState
      ? (await deps.parameters.read(source.id, privateParameterName))?.value
      : undefined;
  redactor.add(privateState);
  const http = new ProviderHttpClient({
    sourceId: source.id,
    provider: source.provider.name,
    settings: source.http,
    runtime: deps.httpRuntime,
    redactor,
    ...(request.deadline === undefined ? {} : { deadline: request.deadline }),
    onRetry: (notice) =>
      deps.logger.warn('retrying provider call', {
        source: source.id,
        ...notice,
        reason: redactor.scrub(notice.reason),
      }),
  });
  const issued = await source.provider.issueToken({
    sourceId: source.id,
    baseUrl: source.baseUrl,
    credentials,
    options: source.options,
    privateState,
    http,
    now: deps.clock(),
    deploymentName: deps.deploymentName,
    note: (message, fields) => deps.logger.info(redactor.scrub(message), { source: source.id, ...fields }),
    markSensitive: (...values) => redactor.add(...values),
    savePrivateState: async (state) => {
      if (!privateParameterName) return;
      await deps.parameters.writeSecure(
        source.id,
        privateParameterName,
        state,
        source.kmsKeyId,
        request.deadline,
      );
    },
  });
  redactor.add(issued.token, issued.privateState);
  return issued;
}

function parseCredentials(source: ResolvedSource, secretString: string, redactor: Redactor): unknown {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new SecretError(source.id, 'SECRET_INVALID', `secret "${source.secretId}" is not valid JSON`);
  }
  if (typeof json === 'object' && json !== null) {
    for (const value of Object.values(json)) if (typeof value === 'string') redactor.add(value);
  }
  const parsed = v.safeParse(source.provider.credentialsSchema, json);
  if (!parsed.success) {
    const fields = parsed.issues.map(
      (issue) => `"${v.getDotPath(issue) ?? '(root)'}" ${explainIssue(issue)}`,
    );
    throw new SecretError(
      source.id,
      'SECRET_INVALID',
      `secret "${source.secretId}" does not hold valid ${source.provider.name} credentials: ${fields.join('; ')}`,
    );
  }
  return parsed.output;
}

function secondsUntil(isoInstant: string, now: number): number {
  return Math.floor((Date.parse(isoInstant) - now) / 1000);
}
