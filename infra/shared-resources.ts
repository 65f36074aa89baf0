import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/*
 * The resources every provider function of one deployment shares, created in the
 * TokenRefresher's scope. Their ids are fixed: an id is part of the CloudFormation
 * logical id, and a changed one replaces the resource (and loses the lock table's leases).
 */

/**
 * The topic is encrypted with its own customer managed key: CloudWatch alarms
 * cannot publish to a topic under the AWS managed aws/sns key, whose policy
 * cannot grant them GenerateDataKey/Decrypt.
 */
export function createAlarmTopic(scope: Construct): sns.Topic {
  const key = new kms.Key(scope, 'AlarmTopicKey', {
    description: 'Encrypts the token-refresher alarm topic',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  );
  return new sns.Topic(scope, 'AlarmTopic', {
    displayName: 'token-refresher alarms',
    masterKey: key,
    enforceSSL: true,
  });
}

/** Where undeliverable scheduled invocations and failed asynchronous runs end up. */
export function createDeadLetterQueue(scope: Construct): sqs.Queue {
  const queue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the schedules and the refresher functions.',
  });
  return queue;
}

/** The leases that keep two runs of one source from overlapping. */
export function createLockTable(scope: Construct): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'LockTable', {
    partitionKey: { name: 'sourceId', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: 'expiresAt',
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(table).acknowledge({
    id: 'AwsSolutions-DDB3',
    reason:
      'Holds only short-lived refresh leases (minutes); there is nothing to recover to a point in time.',
  });
  return table;
}
