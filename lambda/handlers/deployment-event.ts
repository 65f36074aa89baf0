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
  Data: { Refreshed: number; Fresh: number };
}

export function isDeploymentEvent(event: unknown): event is DeploymentEvent {
  if (typeof event !== 'object' || event === null) return false;
  const { RequestType, ResourceProperties } = event as Record<string, unknown>;
  return (
    typeof RequestType === 'string' && typeof ResourceProperties === 'object' && ResourceProperties !== null
  );
}

export const DEPLOYMENT_RESOURCE_ID = 'token-refresher-first-refresh';
