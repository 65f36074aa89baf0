/**
 * The entry of @token-refresher/cdk: the construct that deploys a
 * refresher, the one that prepares each replica region for its copies of the
 * tokens, and the reference through which another CDK app grants its functions
 * read access to one source's token.
 */
export type { ProviderName } from '../lambda/providers/provider-names.ts';
export type {
  LandingZone,
  ProviderEnvironment,
  SecretReference,
  StageConfig,
  StageSource,
} from './config/stage-config.ts';
export { DEFAULT_SCHEDULES, type ResilienceProfile, type SourceSchedule } from './default-schedules.ts';
export { PARAMETER_KEY_TAG } from './region-permissions.ts';
export { keyArnParameterName, tokenParameterName } from './token-parameters.ts';
export {
  TokenRefresher,
  type TokenRefresherProps,
  type TokenRefresherSource,
} from './token-refresher.ts';
export { TokenRefresherReference } from './token-refresher-reference.ts';
export { TokenRefresherReplica, type TokenRefresherReplicaProps } from './token-refresher-replica.ts';
