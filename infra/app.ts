import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stages } from './config/stages.ts';
import { StageConfigError } from './config/validate-stage.ts';
import { TokenRefresherReplicaStack } from './token-refresher-replica-stack.ts';
import { regionalStackName, TokenRefresherStack } from './token-refresher-stack.ts';

/** Every stage in infra/config/stages.ts, or only `-c stage=<name>`. */
// No construct stack traces: the CLI would print the line of infra/ that added a note, where the
// note itself names the setting to change in infra/config/stages.ts.
function buildApp(app = new App({ stackTraces: false })): App {
  const only = app.node.tryGetContext('stage') as string | undefined;
  const selected = only ? stages.filter((stage) => stage.name === only) : stages;
  if (selected.length === 0) {
    throw new StageConfigError([
      `-c stage=${only}: no such stage; the stages in infra/config/stages.ts are ${stages.map((stage) => stage.name).join(', ')}`,
    ]);
  }
  for (const stage of selected) {
    new TokenRefresherStack(app, `TokenRefresher-${stage.name}`, {
      stage,
      env: {
        account: stage.account ?? process.env.CDK_DEFAULT_ACCOUNT,
        region: stage.region ?? process.env.CDK_DEFAULT_REGION,
      },
      description: `Scheduled bearer-token refresher (${stage.name})`,
    });
    for (const region of stage.replicaRegions ?? []) {
      const env = { account: stage.account ?? process.env.CDK_DEFAULT_ACCOUNT, region };
      if (region === stage.standbyRegion) {
        new TokenRefresherStack(app, regionalStackName(stage.name, region), {
          stage,
          standby: true,
          env,
          description: `Standby bearer-token refresher (${stage.name}, schedules off until npm run failover)`,
        });
      } else {
        new TokenRefresherReplicaStack(app, regionalStackName(stage.name, region), {
          stage,
          env,
          description: `Token-refresher replica region (${stage.name}): its key and meta/key-arn`,
        });
      }
    }
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

try {
  buildApp().synth();
} catch (error) {
  // A configuration mistake is stated in full by its message: no stack trace to scroll past.
  if (!(error instanceof StageConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
