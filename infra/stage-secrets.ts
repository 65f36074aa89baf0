import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { StageConfig, StageSource } from './config/stage-config.ts';
import { providerSecretPrefixes } from './refresher-permissions.ts';

/* Where a stage's sources keep their credentials, checked at synth. */

/** A source's secret: imported by name or ARN (the standby: its Secrets Manager replica), or a created placeholder. */
export function stageSecret(
  scope: Construct,
  source: StageSource,
  secretPrefix: string,
  stage: StageConfig,
  standby: boolean,
): secretsmanager.ISecret {
  const id = `Secret-${source.id}`;
  if ('name' in source.secret) return secretsmanager.Secret.fromSecretNameV2(scope, id, source.secret.name);
  // Secrets Manager's replica of a secret has the same name and suffix; only the region differs.
  if ('arn' in source.secret)
    return secretsmanager.Secret.fromSecretCompleteArn(
      scope,
      id,
      standby
        ? source.secret.arn.replace(
            /^(arn:[\w-]+:secretsmanager:)[a-z0-9-]+:/,
            `$1${Stack.of(scope).region}:`,
          )
        : source.secret.arn,
    );
  // The placeholder is created at home; the standby reads Secrets Manager's replica of it.
  if (standby) return secretsmanager.Secret.fromSecretNameV2(scope, id, `${secretPrefix}/${source.id}`);
  const secret = new secretsmanager.Secret(scope, id, {
    secretName: `${secretPrefix}/${source.id}`,
    ...(stage.standbyRegion ? { replicaRegions: [{ region: stage.standbyRegion }] } : {}),
    description: `Credentials JSON for token-refresher source ${source.id} (${source.provider}); replace the generated value`,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason: `Holds ${source.provider} API credentials, which are issued and rotated in the provider's dashboard; Secrets Manager rotation cannot rotate them.`,
  });
  return secret;
}

/**
 * A standby reads each secret's Secrets Manager replica in its region; a secret under a
 * customer managed key has its replica under another key, which only the stage can name.
 */
export function checkStandby(stage: StageConfig): void {
  if (!stage.standbyRegion) throw new Error(`stage "${stage.name}" names no standbyRegion`);
  for (const source of stage.sources) {
    if (source.secretKmsKeyArn && !source.standbySecretKmsKeyArn) {
      throw new Error(
        `stage "${stage.name}", source "${source.id}": its secret is encrypted with a customer managed key, so its replica in ${stage.standbyRegion} is too; set standbySecretKmsKeyArn to the key of that replica (edit infra/config/stages.ts)`,
      );
    }
  }
}

const COMPLETE_SECRET_ARN = /^arn:[\w-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
/**
 * Secrets Manager's suffix is 6 random letters and digits; one of only lower-case
 * letters reads like a word ("-cashin"), so it may as well be the end of a name.
 * Such an ARN could be partial: only { name } says which secret is meant.
 */
const WORDLIKE_SUFFIX = /-[a-z]{6}$/;

/**
 * Secrets Manager finds a secret by its complete ARN (name, "-" and 6 random
 * characters) or by its plain name; a partial ARN is ambiguous when the name
 * itself ends in "-" and 6 characters, so it is refused.
 */
export function secretReferenceProblem(secret: StageSource['secret']): string | undefined {
  if ('arn' in secret && !COMPLETE_SECRET_ARN.test(secret.arn)) {
    return `secret arn "${secret.arn}" is not a complete ARN (it must end in "-" and the 6 characters Secrets Manager adds: copy ARN from \`aws secretsmanager describe-secret\`), or give { name: '<secret name>' } for a secret in this stage's account and region`;
  }
  if ('arn' in secret && WORDLIKE_SUFFIX.test(secret.arn)) {
    const suffix = secret.arn.slice(-7);
    return `secret arn "${secret.arn}" is ambiguous: its last 7 characters "${suffix}" could be part of the secret's name rather than the 6 random characters Secrets Manager adds, and a partial ARN would be read as complete; give { name: '<secret name>' } instead (for a secret in this stage's account and region)`;
  }
  if ('name' in secret && secret.name.startsWith('arn:')) {
    return `secret name "${secret.name}" is an ARN: give it as { arn: '…' } (the complete ARN), or give the plain name`;
  }
  return undefined;
}

/**
 * With `secretNamePrefix`, each provider's function may read only secrets under
 * its provider's prefix, and a source only `<provider prefix><id>`: say so at
 * synth, not at 3 a.m.
 */
export function checkSecretNames(stage: StageConfig, secretPrefix: string): void {
  const configured = stage.secretNamePrefix ?? '';
  let prefixes: Map<string, string>;
  try {
    prefixes = providerSecretPrefixes(configured, [
      ...new Set(stage.sources.map((source) => source.provider)),
    ]);
  } catch (error) {
    throw new Error(`stage "${stage.name}": ${(error as Error).message.replace(/^TokenRefresher: /, '')}`);
  }
  for (const [provider, prefix] of prefixes) {
    if (!prefix.endsWith('/')) {
      throw new Error(
        `stage "${stage.name}": the secret name prefix of ${provider} ("${prefix}") must end with "/" (it grants every secret whose name starts with it)`,
      );
    }
  }
  for (const source of stage.sources) {
    const prefix = prefixes.get(source.provider) ?? '';
    const name =
      'name' in source.secret
        ? source.secret.name
        : 'arn' in source.secret
          ? (/:secret:(.+)-[A-Za-z0-9]{6}$/.exec(source.secret.arn)?.[1] ?? source.secret.arn)
          : `${secretPrefix}/${source.id}`;
    if (name !== `${prefix}${source.id}`) {
      const keep =
        typeof configured === 'string' && name === `${configured}${source.id}`
          ? ` (to keep names without a provider segment in a one-provider fleet, set secretNamePrefix to { ${source.provider}: '${configured}' })`
          : '';
      throw new Error(
        `stage "${stage.name}", source "${source.id}": with secretNamePrefix its secret must be named "${prefix}${source.id}" (it is "${name}")${keep}`,
      );
    }
  }
}
