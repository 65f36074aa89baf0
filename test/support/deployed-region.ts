import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateScheduleCommand, CreateScheduleGroupCommand } from '@aws-sdk/client-scheduler';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { RegionClients } from '../../scripts/ops/region-switch.ts';
import { createLockTable } from './aws.ts';

/**
 * What `cdk deploy` leaves in a region for `npm run failover` to find, in moto (whose CloudFormation
 * cannot create schedules): a stack with the ScheduleGroupName and LockTableName outputs, the lock
 * table, the schedule group, and the source's schedule, on or off.
 */
export async function deployRegionalRefresher(
  clients: RegionClients,
  deployment: {
    region: string;
    stackName: string;
    scheduleGroup: string;
    lockTable: string;
    source: SourceDefinition & { id: string };
    enabled: boolean;
  },
): Promise<void> {
  const { region, stackName, scheduleGroup, lockTable, source } = deployment;
  await clients.cloudformation.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify({
        Resources: {
          Marker: {
            Type: 'AWS::SSM::Parameter',
            Properties: { Type: 'String', Value: stackName, Name: `/stacks/${stackName}` },
          },
        },
        Outputs: { ScheduleGroupName: { Value: scheduleGroup }, LockTableName: { Value: lockTable } },
      }),
    }),
  );
  await createLockTable(clients.dynamodb, lockTable).catch((error: Error) => {
    if (error.name !== 'ResourceInUseException') throw error;
  });
  await clients.scheduler
    .send(new CreateScheduleGroupCommand({ Name: scheduleGroup }))
    .catch((error: Error) => {
      if (error.name !== 'ConflictException') throw error;
    });
  await clients.scheduler.send(
    new CreateScheduleCommand({
      GroupName: scheduleGroup,
      Name: source.id,
      ScheduleExpression: 'rate(4 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: deployment.enabled ? 'ENABLED' : 'DISABLED',
      Target: {
        Arn: `arn:aws:lambda:${region}:123456789012:function:paypack-refresher`,
        RoleArn: 'arn:aws:iam::123456789012:role/scheduler',
        Input: JSON.stringify({ sources: [source] }),
      },
    }),
  );
}
