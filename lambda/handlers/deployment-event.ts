import type { Logger } from '@aws-lambda-powertools/logger';
import { parseJsonSetting } from '../config/handler-settings.ts';
import type { SourceOutcome } from '../refresh/refresh-source.ts';

/**
 * The deploy-time first refresh arrives as a CloudFormation custom-resource
 * event (through the CDK provider framework) whose `Sources` property is the
 * JSON list of source definitions. Create and Update refresh them; Delete does
 * nothing (parameters outlive the stack so consumers are never left empty).
 */
export interface DeploymentEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  PhysicalResourceId?: string;
  ResourceProperties: { Sources?: string };
}

export interface DeploymentResponse {
  PhysicalResourceId: string;
  Data: { Refreshed: number; Fresh: number; Failed: number };
}

export function isDeploymentEvent(event: unknown): event is DeploymentEvent {
  if (typeof event !== 'object' || event === null) return false;
  const { RequestType, ResourceProperties } = event as Record<string, unknown>;
  return (
    typeof RequestType === 'string' && typeof ResourceProperties === 'object' && ResourceProperties !== null
  );
}

export const DEPLOYMENT_RESOURCE_ID = 'token-refresher-first-refresh';

/** Consumers stop using a token this long before it expires (packages/client/src/get-token.ts). */
const CONSUMER_MARGIN_SECONDS = 60;

/**
 * Create fails the deployment when a source cannot be refreshed: its consumers
 * would find no token. Update fails only when a failed source has no valid token
 * left, so a provider outage cannot block (or strand the rollback of) an
 * unrelated change while the last good tokens still serve.
 */
export async function handleDeploymentEvent(
  event: DeploymentEvent,
  refresh: (sources: unknown) => Promise<{ outcomes: SourceOutcome[] }>,
  logger: Pick<Logger, 'warn'>,
): Promise<DeploymentResponse> {
  if (event.RequestType === 'Delete') {
    return {
      PhysicalResourceId: event.PhysicalResourceId ?? DEPLOYMENT_RESOURCE_ID,
      Data: { Refreshed: 0, Fresh: 0, Failed: 0 },
    };
  }
  const sources = parseJsonSetting(
    event.ResourceProperties.Sources ?? '',
    "the deployment event's Sources property",
  );
  let outcomes: SourceOutcome[];
  try {
    ({ outcomes } = await refresh(sources));
  } catch (error) {
    const failedOutcomes = (error as { outcomes?: SourceOutcome[] }).outcomes;
    const stillServing = failedOutcomes?.every(
      (outcome) => outcome.status !== 'failed' || (outcome.secondsRemaining ?? 0) > CONSUMER_MARGIN_SECONDS,
    );
    if (event.RequestType === 'Create' || !failedOutcomes || !stillServing) throw error;
    logger.warn('deploy-time refresh failed for some sources; their last good tokens are still valid', {
      failed: failedOutcomes
        .filter((outcome) => outcome.status === 'failed')
        .map((outcome) => outcome.sourceId),
    });
    outcomes = failedOutcomes;
  }
  const count = (status: SourceOutcome['status']) =>
    outcomes.filter((outcome) => outcome.status === status).length;
  return {
    PhysicalResourceId: DEPLOYMENT_RESOURCE_ID,
    Data: { Refreshed: count('refreshed'), Fresh: count('fresh'), Failed: count('failed') },
  };
}
