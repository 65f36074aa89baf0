import * as v from 'valibot';
import type { ResolvedSource } from '../config/source-config.ts';
import { ProviderError, SecretError } from '../errors.ts';
import { ProviderHttpClient } from '../http/provider-http-client.ts';
import type { IssuedToken } from '../providers/provider.ts';
import type { Redactor } from '../redact.ts';
import { explainIssue } from '../validation.ts';
import type { IssueRun } from './refresh-run.ts';

export type { IssueRun } from './refresh-run.ts';

/**
 * Provider time a refresh token's presentation needs after its write-ahead
 * marker: the HTTP client's smallest attempt (250 ms) plus the marker write's
 * own round trip. With less left, the marker is not written and the token stays
 * unspent for the next run.
 */
export const MIN_PRESENTATION_MS = 1_000;

/** Obtains a token; on an auth rejection re-reads the secret once and, if it changed, tries once more. */
export async function issueWithRotationRetry(source: ResolvedSource, run: IssueRun): Promise<IssuedToken> {
  const { deps, request } = run;
  const store = { deadline: request.storeDeadline };
  const secret = await deps.credentials.get(source.id, source.secretId, store);
  try {
    return await issue(source, run, secret, true);
  } catch (error) {
    if (!(error instanceof ProviderError) || !error.isAuthFailure) throw error;
    const reread = await deps.credentials.reload(source.id, source.secretId, store);
    if (reread === secret) throw error;
    deps.logger.info('credentials were rejected and the secret has changed; retrying with the new value', {
      source: source.id,
    });
    // Start clean with the new credentials: private state (a refresh token) was already tried.
    return issue(source, run, reread, false);
  }
}

/** A client for provider calls bounded by the run's provider deadline, its retries logged without secrets. */
export function providerHttp(source: ResolvedSource, run: IssueRun): ProviderHttpClient {
  const { deps, request, redactor } = run;
  return new ProviderHttpClient({
    sourceId: source.id,
    provider: source.provider.name,
    settings: source.http,
    runtime: deps.httpRuntime,
    redactor,
    fence: run.fence,
    ...(request.deadline === undefined ? {} : { deadline: request.deadline }),
    onRetry: (notice) =>
      deps.logger.warn('retrying provider call', {
        source: source.id,
        ...notice,
        reason: redactor.scrub(notice.reason),
      }),
  });
}

async function issue(
  source: ResolvedSource,
  run: IssueRun,
  secretString: string,
  usePrivateState: boolean,
): Promise<IssuedToken> {
  const { deps, request, redactor } = run;
  const store = { deadline: request.storeDeadline };
  const credentials = parseCredentials(source, secretString, redactor);
  const { privateParameterName } = source;
  const privateState =
    privateParameterName && usePrivateState
      ? (await deps.parameters.read(source.id, privateParameterName, store))?.value
      : undefined;
  redactor.add(privateState);
  const issued = await source.provider.issueToken({
    sourceId: source.id,
    baseUrl: source.baseUrl,
    credentials,
    options: source.options,
    privateState,
    http: providerHttp(source, run),
    now: deps.clock(),
    deploymentName: deps.deploymentName,
    note: (message, fields) =>
      deps.logger.info(redactor.scrub(message), { ...scrubFields(fields, redactor), source: source.id }),
    warn: (code, message, fields) => {
      deps.logger.warn(redactor.scrub(message), {
        ...scrubFields(fields, redactor),
        source: source.id,
        warning: code,
      });
      run.warnings.add(code);
    },
    markSensitive: (...values) => redactor.add(...values),
    savePrivateState: async (state) => {
      if (!privateParameterName) return;
      const presentationFits = async () => {
        const left =
          request.deadline === undefined
            ? Number.POSITIVE_INFINITY
            : request.deadline - deps.httpRuntime.now();
        if (left < MIN_PRESENTATION_MS) {
          throw new ProviderError(
            source.id,
            'DEADLINE_EXCEEDED',
            `too little time left (${Math.max(0, Math.round(left))} ms) to present the stored refresh token; it was not marked spent and stays usable`,
          );
        }
        await run.fence();
      };
      await deps.parameters.writeSecure(
        source.id,
        privateParameterName,
        state,
        source.kmsKeyId,
        store,
        presentationFits,
      );
    },
  });
  redactor.add(issued.token, issued.privateState);
  return issued;
}

/** A provider's log fields with every string scrubbed like the message: a field may echo a token. */
function scrubFields(
  fields: Record<string, string | number | boolean> | undefined,
  redactor: Redactor,
): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(fields ?? {}).map(([key, value]) => [
      key,
      typeof value === 'string' ? redactor.scrub(value) : value,
    ]),
  );
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
  // What is sent is what the schema made of the secret (trimmed): register exactly that too.
  if (typeof parsed.output === 'object' && parsed.output !== null) {
    for (const value of Object.values(parsed.output)) if (typeof value === 'string') redactor.add(value);
  }
  return parsed.output;
}
