import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackPropsFromContext } from '../../infra/context';
import { DEFAULT_SENDER_MAX_CONCURRENCY, DEFAULT_UNPARK_MINUTES } from '../../infra/props';
import { DingtalkBridgeStack, type HandlerName } from '../../infra/stack';
import { OLDEST_NOTIFY_ALARM_SECONDS, perTenantQuery } from '../../infra/alarms';
import { QUEUES, visibilityTimeoutSeconds } from '../../lib/contracts/deployment';

/**
 * The stack as `cdk synth` builds it, with cdk.json's context, twice for the whole file:
 * - `deployed`: no -c options (bundling is real, esbuild takes well under a second per handler);
 * - `configured`: `-c retain=false -c alarmEmail=... -c unparkMinutes=5 -c maxConcurrency=25
 *   -c publisherAccountId=... -c publisherExternalId=...`, for what those options change (its
 *   handlers are not bundled: the bundles are `deployed`'s).
 */
const ROOT = join(__dirname, '..', '..');
const CDK_CONTEXT = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
const ALARM_EMAIL = 'oncall@example.com';
const PUBLISHER_ACCOUNT = '111122223333';
const PUBLISHER_EXTERNAL_ID = 'flashduty-ext-7f3a';
/** No stack matches an empty `aws:cdk:bundling-stacks` list: CDK skips bundling (the CLI's switch for stacks it leaves out). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const ALL_HANDLERS: HandlerName[] = ['actions', 'callback', 'drain', 'events', 'homepage', 'link', 'sender', 'unpark'];

interface Built {
  app: App;
  stack: DingtalkBridgeStack;
  template: Template;
}

function build(context: Record<string, unknown>): Built {
  const app = new App({ context: { ...CDK_CONTEXT, ...context } });
  const { stackName, ...props } = stackPropsFromContext(app);
  const stack = new DingtalkBridgeStack(app, stackName, props);
  return { app, stack, template: Template.fromStack(stack) };
}

const logicalId = (construct: IConstruct): string => Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: Record<string, Record<string, unknown>> };

/** Every statement of the inline policies attached to the function's role. */
function roleStatements(b: Built, fn: NodejsFunction): Statement[] {
  const policies = b.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalId(fn.role!) }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const actions = (statements: Statement[]): string[] => statements.flatMap((s) => ([] as string[]).concat(s.Action));
const getAtt = (construct: IConstruct) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });

/** The resources the function's role may apply `action` to (exact action names, no wildcards). */
function resourcesFor(b: Built, fn: NodejsFunction, action: string): unknown[] {
  return roleStatements(b, fn)
    .filter((s) => s.Effect === 'Allow' && actions([s]).includes(action))
    .flatMap((s) => ([] as unknown[]).concat(s.Resource));
}

let deployed: Built;
let configured: Built;

beforeAll(() => {
  deployed = build({});
  configured = build({ retain: 'false', alarmEmail: ALARM_EMAIL, unparkMinutes: '5', maxConcurrency: '25', publisherAccountId: PUBLISHER_ACCOUNT, publisherExternalId: PUBLISHER_EXTERNAL_ID, ...NO_BUNDLING });
}, 120_000); // bundling five handlers: seconds normally, more on a loaded CI runner

describe('storage', () => {
  it('keeps everything in one on-demand table keyed pk/sk, expiring items by expiresAt, with point-in-time recovery', () => {
    deployed.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    deployed.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('encrypts the table with its own KMS key that rotates', () => {
    const keys = deployed.template.findResources('AWS::KMS::Key');
    expect(Object.keys(keys)).toHaveLength(1);
    const [keyId, key] = Object.entries(keys)[0];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    deployed.template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
    });
  });

  it('by default survives a stack deletion: deletion protection on, table and key retained', () => {
    deployed.template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    deployed.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    deployed.template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain' });
  });

  it('with -c retain=false the table, its key and the log groups are destroyed with the stack', () => {
    configured.template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
      DeletionPolicy: 'Delete',
    });
    configured.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
    configured.template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
  });
});

describe('queues', () => {
  it.each([
    ['events', QUEUES.events],
    ['notify', QUEUES.notify],
    ['actions', QUEUES.actions],
  ] as const)('the %s queue redrives to its own dead-letter queue after maxReceiveCount receives', (name, settings) => {
    const q = deployed.stack[name];
    deployed.template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: visibilityTimeoutSeconds(settings),
      RedrivePolicy: { deadLetterTargetArn: getAtt(q.dlq), maxReceiveCount: settings.maxReceiveCount },
    });
    expect(visibilityTimeoutSeconds(settings)).toBeGreaterThanOrEqual(6 * settings.consumerTimeoutSeconds);
  });

  it('encrypts every queue and refuses requests without TLS', () => {
    const queues = deployed.template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(9);
    for (const q of Object.values(queues)) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    for (const id of Object.keys(queues)) {
      deployed.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it("gives Flashduty's publisher a managed policy that can only send to the notify queue", () => {
    deployed.template.resourceCountIs('AWS::IAM::ManagedPolicy', 2);
    deployed.template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt(deployed.stack.notify.queue) }] },
    });
  });

  it('keeps the outbound actions queue 14 days, with no DLQ of ours, and gives Flashduty a policy that can only read it', () => {
    const q = deployed.stack.flashdutyActions;
    const [props] = Object.values(deployed.template.findResources('AWS::SQS::Queue')).filter((r) => r === deployed.template.toJSON().Resources[logicalId(q)]);
    expect(props.Properties).toMatchObject({ MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true });
    expect(props.Properties.RedrivePolicy).toBeUndefined();
    deployed.template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: Match.arrayEquals(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']), Resource: getAtt(q) }] },
    });
    const outputs = deployed.template.toJSON().Outputs;
    expect(outputs.FlashdutyActionsQueueUrl.Value).toEqual({ Ref: logicalId(q) });
    expect(outputs.FlashdutyActionsQueueArn.Value).toEqual(getAtt(q));
  });
});

describe('functions', () => {
  it('runs the callback on nodejs22.x arm64 with the environment contract and source maps', () => {
    const { stack } = deployed;
    deployed.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 10,
      Environment: {
        Variables: {
          TABLE_NAME: { Ref: logicalId(stack.table) },
          EVENTS_QUEUE_URL: { Ref: logicalId(stack.events.queue) },
          NOTIFY_QUEUE_URL: { Ref: logicalId(stack.notify.queue) },
          DINGTALK_API_URL: 'https://api.dingtalk.com',
          DINGTALK_OAPI_URL: 'https://oapi.dingtalk.com',
          POWERTOOLS_SERVICE_NAME: 'dingtalk-bridge',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
      LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
    });
  });

  it('tells the sending functions the HTTP API\'s URL as PUBLIC_URL (card callbacks are registered under it)', () => {
    const { stack, template } = deployed;
    const functions = template.findResources('AWS::Lambda::Function');
    for (const fn of [stack.functions.sender, stack.functions.drain]) {
      const url = functions[logicalId(fn)].Properties.Environment.Variables.PUBLIC_URL;
      expect(url).toEqual({ 'Fn::GetAtt': [logicalId(stack.api), 'ApiEndpoint'] });
    }
  });

  it('gives every function its own log group kept for one month', () => {
    for (const b of [deployed, configured]) {
      const functions = b.template.findResources('AWS::Lambda::Function');
      const logGroups = b.template.findResources('AWS::Logs::LogGroup');
      for (const fn of Object.values(functions)) {
        const group = logGroups[fn.Properties.LoggingConfig.LogGroup.Ref];
        expect(group?.Properties.RetentionInDays).toBe(30);
      }
    }
  });

  it('ships each handler as a minified ES module bundle that restores require, with a source map', () => {
    const dir = deployed.app.synth().directory;
    const bundles = readdirSync(dir).filter((d) => d.startsWith('asset.') && existsSync(join(dir, d, 'index.mjs')));
    expect(bundles.length).toBe(ALL_HANDLERS.length);
    for (const b of bundles) {
      const code = readFileSync(join(dir, b, 'index.mjs'), 'utf8');
      expect(code.startsWith("import{createRequire}from'node:module';const require=createRequire(import.meta.url);")).toBe(true);
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000); // minified: long lines
      expect(existsSync(join(dir, b, 'index.mjs.map'))).toBe(true);
    }
  });

  it('wires one function per handler in functions/, and no other', () => {
    expect(Object.keys(deployed.stack.functions).sort()).toEqual(ALL_HANDLERS);
    deployed.template.resourceCountIs('AWS::Lambda::Function', ALL_HANDLERS.length);
  });

  it('lets the callback read the table, write only replay records, and send to the events and actions queues, and nothing else', () => {
    for (const b of [deployed, configured]) {
      const fn = b.stack.functions.callback;
      const statements = roleStatements(b, fn);
      const granted = actions(statements);
      // Its only writes: the press (replay) records, by leading key (infra/grants.ts; test/infra/grants.test.ts).
      const writes = statements.filter((s) => actions([s]).includes('dynamodb:PutItem'));
      expect(writes.map((s) => s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'])).toEqual([['PRESS#*']]);
      expect(granted).toContain('dynamodb:GetItem');
      // A public endpoint: no Scan, so it cannot list every tenant's secrets.
      expect(granted).not.toContain('dynamodb:Scan');
      expect(granted.filter((a) => a.startsWith('sqs:'))).toEqual(['sqs:SendMessage']);
      const sqsStatement = statements.find((s) => actions([s]).includes('sqs:SendMessage'))!;
      expect(sqsStatement.Resource).toEqual(expect.arrayContaining([getAtt(b.stack.events.queue), getAtt(b.stack.actions.queue)]));
      expect(sqsStatement.Resource).toHaveLength(2);
      expect(granted.filter((a) => a.startsWith('kms:')).sort()).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*']);
      expect(granted.every((a) => /^(dynamodb|sqs|kms|logs|xray):/.test(a))).toBe(true);
      // No managed policy on a function's role (AWSLambdaBasicExecutionRole and the like): logs go to its own group only.
      const roles = b.template.findResources('AWS::IAM::Role');
      for (const f of Object.values(b.stack.functions)) expect(roles[logicalId(f.role!)].Properties.ManagedPolicyArns).toBeUndefined();
      const logs = statements.find((s) => actions([s]).includes('logs:PutLogEvents'))!;
      expect(logs.Resource).toEqual(getAtt(fn.logGroup));
    }
  });
});

describe('event sources', () => {
  const consumers = [
    ['events', QUEUES.events],
    ['sender', QUEUES.notify],
  ] as const;

  it.each(consumers)('%s consumes its queue in batches with partial batch failures and the consumer timeout', (name, settings) => {
    const fn = deployed.stack.functions[name];
    const queue = name === 'events' ? deployed.stack.events.queue : deployed.stack.notify.queue;
    deployed.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(fn) },
      EventSourceArn: getAtt(queue),
      BatchSize: settings.batchSize,
      MaximumBatchingWindowInSeconds: settings.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    deployed.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.anyValue(),
      Timeout: settings.consumerTimeoutSeconds,
      Role: getAtt(fn.role!),
    });
  });

  it.each(consumers)('%s may read and write the table', (name) => {
    const granted = actions(roleStatements(deployed, deployed.stack.functions[name]));
    expect(granted).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']));
  });

  it('only the sender, the drain and the unpark sweep may put messages on the notify and drain queues; each may dead-letter to its own DLQ', () => {
    const sends = (name: HandlerName) => resourcesFor(deployed, deployed.stack.functions[name], 'sqs:SendMessage');
    const { events, notify, drain } = deployed.stack;
    for (const name of ['sender', 'drain', 'unpark'] as const) {
      expect(sends(name)).toEqual(expect.arrayContaining([getAtt(notify.queue), getAtt(notify.dlq), getAtt(drain.queue)]));
      expect(sends(name)).toHaveLength(3);
    }
    // The drain consumes its own queue only.
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage']) expect(resourcesFor(deployed, deployed.stack.functions.drain, action)).toEqual([getAtt(drain.queue)]);
    expect(sends('events')).toEqual([getAtt(events.dlq)]);
    expect(sends('callback')).toEqual([getAtt(deployed.stack.actions.queue), getAtt(events.queue)]);
    expect(sends('actions')).toEqual(expect.arrayContaining([getAtt(deployed.stack.flashdutyActions), getAtt(notify.queue), getAtt(deployed.stack.actions.dlq)]));
    expect(sends('actions')).toHaveLength(3);
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']) {
      expect(resourcesFor(deployed, deployed.stack.functions.actions, action)).toEqual([getAtt(deployed.stack.actions.queue)]);
    }
    expect(sends('homepage')).toEqual([]);
    // member.link goes to Flashduty's outbound actions queue, and nowhere else.
    expect(sends('link')).toEqual([getAtt(deployed.stack.flashdutyActions)]);
    deployed.template.hasResourceProperties('AWS::Lambda::Function', {
      Role: getAtt(deployed.stack.functions.link.role!),
      Environment: { Variables: Match.objectLike({ FLASHDUTY_ACTIONS_QUEUE_URL: { Ref: logicalId(deployed.stack.flashdutyActions) }, PUBLIC_URL: { 'Fn::GetAtt': [logicalId(deployed.stack.api), 'ApiEndpoint'] } }) },
    });
    for (const name of ['events', 'sender'] as const) {
      deployed.template.hasResourceProperties('AWS::Lambda::Function', {
        Role: getAtt(deployed.stack.functions[name].role!),
        Environment: { Variables: Match.objectLike({ EVENTS_DLQ_URL: { Ref: logicalId(events.dlq) }, NOTIFY_DLQ_URL: { Ref: logicalId(notify.dlq) } }) },
      });
    }
  });

  it('the sender can send to the notify queue and its dead-letter queue, never to the events queue', () => {
    const fn = deployed.stack.functions.sender;
    const sends = resourcesFor(deployed, fn, 'sqs:SendMessage');
    expect(sends).toContainEqual(getAtt(deployed.stack.notify.queue));
    expect(sends).toContainEqual(getAtt(deployed.stack.notify.dlq));
    expect(sends).not.toContainEqual(getAtt(deployed.stack.events.queue));
    expect(sends).not.toContainEqual(getAtt(deployed.stack.events.dlq));
    // Backoff sets the visibility of the record it holds: granted with the event source's consume grant, on the notify queue only.
    for (const action of ['sqs:ChangeMessageVisibility', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']) {
      expect(resourcesFor(deployed, fn, action)).toEqual([getAtt(deployed.stack.notify.queue)]);
    }
    expect(actions(roleStatements(deployed, fn)).filter((a) => a.startsWith('sqs:') && a.includes('*'))).toEqual([]);
  });

  it('the sender gets the table, both notify queue URLs and the DingTalk endpoints', () => {
    const { stack, template } = deployed;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: getAtt(stack.functions.sender.role!),
      Timeout: QUEUES.notify.consumerTimeoutSeconds,
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: logicalId(stack.table) },
          NOTIFY_QUEUE_URL: { Ref: logicalId(stack.notify.queue) },
          NOTIFY_DLQ_URL: { Ref: logicalId(stack.notify.dlq) },
          DINGTALK_API_URL: 'https://api.dingtalk.com',
          DINGTALK_OAPI_URL: 'https://oapi.dingtalk.com',
        }),
      },
    });
  });

  it('bounds concurrent sender invocations on the event source (10 by default, -c maxConcurrency) without reserving concurrency', () => {
    const scaling = (b: Built) =>
      Object.values(b.template.findResources('AWS::Lambda::EventSourceMapping', { Properties: { FunctionName: { Ref: logicalId(b.stack.functions.sender) } } })).map(
        (m) => m.Properties.ScalingConfig,
      );
    expect(scaling(configured)).toEqual([{ MaximumConcurrency: 25 }]);
    expect(scaling(deployed)).toEqual([{ MaximumConcurrency: DEFAULT_SENDER_MAX_CONCURRENCY }]);
    for (const b of [deployed, configured]) b.template.allResourcesProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent() });
  });

  it('the homepage only reads the table', () => {
    const granted = actions(roleStatements(deployed, deployed.stack.functions.homepage));
    expect(granted).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
    expect(granted.filter((a) => /dynamodb:(Put|Update|Delete|BatchWrite)/.test(a))).toEqual([]);
    expect(granted.filter((a) => /^kms:(Encrypt|ReEncrypt|GenerateDataKey)/.test(a))).toEqual([]);
    expect(granted.filter((a) => a.startsWith('sqs:'))).toEqual([]);
  });
});

describe('unpark schedule', () => {
  const rules = (b: Built) => Object.entries(b.template.findResources('AWS::Events::Rule'));

  it('runs the unpark function on an EventBridge schedule, every -c unparkMinutes minutes (10 by default)', () => {
    for (const [b, expression] of [
      [configured, 'rate(5 minutes)'],
      [deployed, `rate(${DEFAULT_UNPARK_MINUTES} minutes)`],
    ] as const) {
      const fn = b.stack.functions.unpark;
      const found = rules(b);
      expect(found).toHaveLength(1);
      const [ruleId, rule] = found[0];
      expect(rule.Properties.ScheduleExpression).toBe(expression);
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: getAtt(fn) })]);
      b.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt(fn),
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      });
    }
  });

  it('leaves a failed sweep to the next scheduled run instead of retrying it', () => {
    deployed.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: logicalId(deployed.stack.functions.unpark) }, MaximumRetryAttempts: 0 });
    configured.template.hasResourceProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumEventAgeInSeconds: 300 }) })] });
  });

  it('lets the unpark function query and update the table and send to the notify queue and its DLQ only, within 60 s', () => {
    const { stack, template } = deployed;
    const fn = stack.functions.unpark;
    const granted = actions(roleStatements(deployed, fn));
    expect(granted).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']),
    );
    expect(granted.filter((a) => a.startsWith('sqs:'))).toEqual(['sqs:SendMessage']);
    expect(resourcesFor(deployed, fn, 'sqs:SendMessage')).toEqual(expect.arrayContaining([getAtt(stack.notify.queue), getAtt(stack.notify.dlq)]));
    // A scheduled function, not a consumer: no event source mapping.
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping', { Properties: { FunctionName: { Ref: logicalId(fn) } } }))).toEqual([]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: getAtt(fn.role!),
      Timeout: 60,
      Environment: { Variables: Match.objectLike({ TABLE_NAME: { Ref: logicalId(stack.table) }, NOTIFY_QUEUE_URL: { Ref: logicalId(stack.notify.queue) } }) },
    });
  });
});

describe('HTTP API', () => {
  it('routes POST /dingtalk/{tenantId}/callback and POST /card/{tenantId} to the callback, GET /dingtalk/{tenantId}/home to the homepage, GET and POST /link/{tenantId} to the link function, and nothing else', () => {
    const { stack, template } = deployed;
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(['GET /dingtalk/{tenantId}/home', 'GET /link/{tenantId}', 'POST /card/{tenantId}', 'POST /dingtalk/{tenantId}/callback', 'POST /link/{tenantId}']);
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const routed = [['POST /dingtalk/{tenantId}/callback', 'callback'], ['POST /card/{tenantId}', 'callback'], ['GET /dingtalk/{tenantId}/home', 'homepage'], ['GET /link/{tenantId}', 'link'], ['POST /link/{tenantId}', 'link']] as const;
    for (const [routeKey, name] of routed) {
      const [route] = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }));
      expect(route.Properties.Target).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: expect.any(String) }]] });
      const integrationId: string = route.Properties.Target['Fn::Join'][1][1].Ref;
      expect(integrations[integrationId].Properties.IntegrationUri).toEqual(getAtt(stack.functions[name]));
    }
  });

  it('throttles the default stage and writes JSON access logs to a log group', () => {
    deployed.template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const [stage] = Object.values(deployed.template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    const destination = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    expect(deployed.template.findResources('AWS::Logs::LogGroup')[destination].Properties.RetentionInDays).toBe(30);
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
  });
});

describe('alarms', () => {
  const alarmsOn = (b: Built, props: Record<string, unknown>) => Object.values(b.template.findResources('AWS::CloudWatch::Alarm', { Properties: props }));

  it('alarms on any message visible in either dead-letter queue', () => {
    for (const q of [deployed.stack.events, deployed.stack.notify]) {
      deployed.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(q.dlq), 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  /** Alarms on a Metrics Insights query (one alarm contributor per series). */
  const queryAlarms = (b: Built, query: string) =>
    alarmsOn(b, { Metrics: [Match.objectLike({ Expression: query, Period: 300, ReturnData: true })] }).map((a) => a.Properties as { Threshold: number; AlarmDescription: string });

  it("alarms per tenant when an organisation reaches 80 % and 95 % of its monthly quota, the tenantId naming it", () => {
    const query = 'SELECT MAX(QuotaUsedPercent) FROM SCHEMA("DingtalkBridge", service, tenantId) GROUP BY tenantId ORDER BY MAX() DESC';
    expect(perTenantQuery('MAX', 'QuotaUsedPercent')).toBe(query);
    const quota = queryAlarms(deployed, query);
    expect(quota.map((a) => a.Threshold).sort()).toEqual([80, 95]);
    for (const a of quota) expect(a.AlarmDescription).toMatch(/tenantId/);
    // A used-up quota emits nothing more: the alarm keeps its state instead of turning OK.
    for (const a of quota as Array<{ TreatMissingData?: string }>) expect(a.TreatMissingData).toBe('ignore');
    // No alarm is left on the old, tenant-less series.
    expect(alarmsOn(deployed, { MetricName: 'QuotaUsedPercent' })).toEqual([]);
  });

  it('alarms per tenant on any message parked for the monthly quota', () => {
    const parked = queryAlarms(deployed, 'SELECT SUM(Parked) FROM SCHEMA("DingtalkBridge", service, tenantId) GROUP BY tenantId ORDER BY SUM() DESC');
    expect(parked.map((a) => a.Threshold)).toEqual([1]);
  });

  it('alarms per tenant when a page reaches DingTalk 5 minutes or more after it first reached the notify queue', () => {
    const late = queryAlarms(deployed, 'SELECT MAX(DeliveryLatency) FROM SCHEMA("DingtalkBridge", service, tenantId) GROUP BY tenantId ORDER BY MAX() DESC');
    expect(late.map((a) => a.Threshold)).toEqual([300_000]);
    expect(late[0].AlarmDescription).toMatch(/tenantId/);
  });

  it('alarms when the oldest message on the notify queue is 5 minutes old (pages are late)', () => {
    deployed.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(deployed.stack.notify.queue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: OLDEST_NOTIFY_ALARM_SECONDS,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(OLDEST_NOTIFY_ALARM_SECONDS).toBe(300);
  });

  it("alarms when half of DingTalk's callbacks in 5 minutes (at least 2) are refused with 401, counted from the API's access log", () => {
    const { template } = deployed;
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const accessLogs = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')).map((f) => f.Properties);
    const filterOf = (metricName: string) => filters.find((f) => f.MetricTransformations[0].MetricName === metricName)!;
    for (const name of ['CallbackRequests', 'CallbackUnauthorized']) {
      const f = filterOf(name);
      expect(f.LogGroupName).toEqual({ Ref: accessLogs });
      expect(f.FilterPattern).toContain('$.routeKey = "POST /dingtalk/{tenantId}/callback"');
      expect(f.MetricTransformations[0]).toMatchObject({ MetricNamespace: 'DingtalkBridge', MetricValue: '1' });
    }
    expect(filterOf('CallbackUnauthorized').FilterPattern).toContain('$.status = "401"');
    expect(filterOf('CallbackRequests').FilterPattern).not.toContain('$.status');

    const [rate] = alarmsOn(deployed, { Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(unauthorized >= 2, 100 * unauthorized / requests, 0)' })]) });
    expect(rate.Properties.Threshold).toBe(50);
    const inputs = (rate.Properties.Metrics as Array<{ Id: string; MetricStat?: { Metric: { MetricName: string }; Period: number; Stat: string } }>).filter((m) => m.MetricStat);
    expect(inputs.map((m) => [m.Id, m.MetricStat!.Metric.MetricName, m.MetricStat!.Stat, m.MetricStat!.Period]).sort()).toEqual([
      ['requests', 'CallbackRequests', 'Sum', 300],
      ['unauthorized', 'CallbackUnauthorized', 'Sum', 300],
    ]);
  });

  it('alarms when DingTalk refuses for its quota below the configured one, and on a burst of possible duplicates', () => {
    expect(alarmsOn(deployed, { Namespace: 'DingtalkBridge', MetricName: 'QuotaBelowConfigured', Threshold: 1 })).toHaveLength(1);
    expect(alarmsOn(deployed, { Namespace: 'DingtalkBridge', MetricName: 'PossibleDuplicates', Threshold: 20 })).toHaveLength(1);
  });

  it('alarms on HTTP API 5xx, callback errors and throttled invocations of every function', () => {
    expect(alarmsOn(deployed, { Namespace: 'AWS/ApiGateway', MetricName: '5xx' })).toHaveLength(1);
    deployed.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(deployed.stack.functions.callback) } }],
      Threshold: 1,
    });
    for (const b of [deployed, configured]) {
      expect(alarmsOn(b, { Namespace: 'AWS/Lambda', MetricName: 'Throttles' })).toHaveLength(ALL_HANDLERS.length);
    }
  });

  it.each(['sender', 'unpark'] as const)('alarms on any error of the %s function', (name) => {
    const errors = alarmsOn(deployed, {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(deployed.stack.functions[name]) } }],
    });
    expect(errors).toHaveLength(1);
    expect(errors[0].Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
  });

  it('without -c alarmEmail the alarms exist but notify nobody', () => {
    deployed.template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of alarmsOn(deployed, {})) expect(alarm.Properties.AlarmActions).toBeUndefined();
  });

  it('with -c alarmEmail every alarm notifies a TLS-only topic with that e-mail subscription', () => {
    configured.template.resourceCountIs('AWS::SNS::Topic', 1);
    const topicId = Object.keys(configured.template.findResources('AWS::SNS::Topic'))[0];
    configured.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: ALARM_EMAIL, TopicArn: { Ref: topicId } });
    configured.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const alarms = alarmsOn(configured, {});
    expect(alarms.length).toBeGreaterThanOrEqual(5);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });
});

describe('tracing', () => {
  it('traces every function with X-Ray (tracing Active), its role allowed to write trace segments', () => {
    for (const b of [deployed, configured]) {
      b.template.allResourcesProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
      for (const name of ALL_HANDLERS) {
        expect(actions(roleStatements(b, b.stack.functions[name]))).toEqual(expect.arrayContaining(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']));
      }
    }
  });

  it("bundles the Powertools tracer into every handler (its middleware opens each invocation's segment)", () => {
    const dir = deployed.app.synth().directory;
    const bundles = readdirSync(dir).filter((d) => d.startsWith('asset.') && existsSync(join(dir, d, 'index.mjs')));
    expect(bundles).toHaveLength(ALL_HANDLERS.length);
    for (const b of bundles) expect(readFileSync(join(dir, b, 'index.mjs'), 'utf8')).toContain('POWERTOOLS_TRACER_CAPTURE_RESPONSE');
  });
});

/** A CloudFormation token inside the dashboard body, as {@link dashboardBody} writes it. */
const tok = (v: unknown): string => JSON.stringify(v).replace(/"/g, "'");

type Widget = { type: string; properties: { title?: string; metrics?: unknown[][]; alarms?: unknown[]; query?: string; annotations?: unknown } };

/** The dashboard's body as JSON, each CloudFormation token (Ref, GetAtt, region) written with {@link tok}. */
function dashboardBody(b: Built): { widgets: Widget[] } {
  const [d] = Object.values(b.template.findResources('AWS::CloudWatch::Dashboard'));
  const body = d.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  return JSON.parse(typeof body === 'string' ? body : body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : tok(p))).join(''));
}

describe('dashboard', () => {
  const titled = (title: string): Widget => {
    const found = dashboardBody(deployed).widgets.filter((w) => w.properties.title === title);
    expect(found).toHaveLength(1);
    return found[0];
  };
  /** The SEARCH expressions of a widget (per-tenant series). */
  const searches = (w: Widget) => (w.properties.metrics ?? []).map((m) => (m[0] as { expression?: string }).expression);

  it('is one CloudWatch dashboard named after the stack, opening with the state of every alarm', () => {
    deployed.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    deployed.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'DingtalkBridge' });
    const alarms = titled('Alarms');
    expect(alarms.type).toBe('alarm');
    expect(alarms.properties.alarms).toHaveLength(deployed.stack.alarms.alarms.length);
    expect(dashboardBody(deployed).widgets[0].properties.title).toBe('Alarms');
  });

  it.each([
    ['Function errors', 'Errors', 'Sum'],
    ['Function duration p50 (ms)', 'Duration', 'p50'],
    ['Function duration p99 (ms)', 'Duration', 'p99'],
  ])('shows %s of every function', (title, metricName, stat) => {
    const lines = titled(title).properties.metrics!;
    expect(lines).toHaveLength(ALL_HANDLERS.length);
    for (const name of ALL_HANDLERS) {
      expect(lines).toContainEqual(['AWS/Lambda', metricName, 'FunctionName', tok({ Ref: logicalId(deployed.stack.functions[name]) }), expect.objectContaining({ label: name, stat })]);
    }
  });

  it('shows the depth and oldest-message age of every queue, and the depth of every dead-letter queue', () => {
    const { events, notify, drain, actions: acts, flashdutyActions } = deployed.stack;
    const queueName = (q: IConstruct) => tok({ 'Fn::GetAtt': [logicalId(q), 'QueueName'] });
    for (const [title, metricName, queues] of [
      ['Queue depth (visible messages)', 'ApproximateNumberOfMessagesVisible', [events.queue, notify.queue, drain.queue, acts.queue, flashdutyActions]],
      ['Oldest message age (s)', 'ApproximateAgeOfOldestMessage', [events.queue, notify.queue, drain.queue, acts.queue, flashdutyActions]],
      ['Dead-letter queues (visible messages)', 'ApproximateNumberOfMessagesVisible', [events.dlq, notify.dlq, drain.dlq, acts.dlq]],
    ] as const) {
      const lines = titled(title).properties.metrics!;
      expect(lines.map((l) => l.slice(0, 4))).toEqual(queues.map((q) => ['AWS/SQS', metricName, 'QueueName', queueName(q)]));
    }
    expect(JSON.stringify(titled('Oldest message age (s)').properties.annotations)).toContain(`"value":${OLDEST_NOTIFY_ALARM_SECONDS}`);
  });

  it.each([
    ['Calls sent per tenant', 'CallsSent', 'Sum'],
    ['Throttled by DingTalk per tenant', 'Throttled', 'Sum'],
    ['Deferred per tenant', 'Deferred', 'Sum'],
    ['Parked per tenant', 'Parked', 'Sum'],
    ['Quota used % per tenant', 'QuotaUsedPercent', 'Maximum'],
    ['Queue-to-DingTalk latency p50 per tenant (ms)', 'DeliveryLatency', 'p50'],
    ['Queue-to-DingTalk latency p99 per tenant (ms)', 'DeliveryLatency', 'p99'],
  ])('shows %s: one series per tenantId', (title, metricName, stat) => {
    expect(searches(titled(title))).toEqual([`SEARCH('{DingtalkBridge,service,tenantId} MetricName="${metricName}"', '${stat}', 300)`]);
  });

  it('shows the callbacks and the 401s among them, and which paths (tenants) were refused, from the access log', () => {
    const lines = titled('Callbacks and 401s').properties.metrics!;
    expect(lines.map((l) => l.slice(0, 2))).toEqual([
      ['DingtalkBridge', 'CallbackRequests'],
      ['DingtalkBridge', 'CallbackUnauthorized'],
    ]);
    const [stage] = Object.values(deployed.template.findResources('AWS::ApiGatewayV2::Stage'));
    const accessLogs = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    const query = titled('Refused callbacks (401) by path').properties.query!;
    expect(query).toContain(tok({ Ref: accessLogs }));
    expect(query).toMatch(/filter status = \\?"401\\?"[\s\S]*by path/);
  });
});

describe('Flashduty publishing from its own account', () => {
  const rolesTrusting = (b: Built) =>
    Object.entries(b.template.findResources('AWS::IAM::Role')).filter(([, r]) =>
      (r.Properties.AssumeRolePolicyDocument.Statement as Array<{ Principal: { AWS?: unknown } }>).some((st) => st.Principal.AWS !== undefined),
    );
  const accountRoot = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${PUBLISHER_ACCOUNT}:root`]] };

  it('without -c publisherAccountId no role trusts another account', () => {
    expect(rolesTrusting(deployed)).toEqual([]);
    expect(deployed.stack.publisherRole).toBeUndefined();
  });

  it("with -c publisherAccountId the role trusts only that account, presenting the ExternalId, and may only send to the notify queue and read the outbound actions queue", () => {
    const b = configured;
    const found = rolesTrusting(b);
    expect(found).toHaveLength(1);
    const [roleId, role] = found[0];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: accountRoot }, Condition: { StringEquals: { 'sts:ExternalId': PUBLISHER_EXTERNAL_ID } } },
    ]);
    // Its permissions: the publisher policy (sqs:SendMessage on the notify queue) and the actions
    // consumer policy (read the outbound actions queue); no inline policy.
    expect(role.Properties.ManagedPolicyArns).toEqual([{ Ref: logicalId(b.stack.publisherPolicy) }, { Ref: logicalId(b.stack.actionsConsumerPolicy) }]);
    expect(role.Properties.Policies).toBeUndefined();
    expect(Object.keys(b.template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } }))).toEqual([]);
    const policy = b.template.findResources('AWS::IAM::ManagedPolicy')[logicalId(b.stack.publisherPolicy)];
    expect(policy.Properties.PolicyDocument.Statement).toEqual([{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt(b.stack.notify.queue) }]);
    const reader = b.template.findResources('AWS::IAM::ManagedPolicy')[logicalId(b.stack.actionsConsumerPolicy)];
    expect(reader.Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'], Resource: getAtt(b.stack.flashdutyActions) },
    ]);
    // SQS-managed encryption: sending needs no KMS permission.
    expect(b.template.findResources('AWS::SQS::Queue', { Properties: { KmsMasterKeyId: Match.anyValue() } })).toEqual({});
  });

  it('says in the outputs what to hand to Flashduty: the role ARN, the ExternalId and the queue URL', () => {
    const b = configured;
    b.template.hasOutput('PublisherRoleArn', { Value: { 'Fn::GetAtt': [logicalId(b.stack.publisherRole!.role), 'Arn'] } });
    b.template.hasOutput('PublisherExternalId', { Value: PUBLISHER_EXTERNAL_ID });
    b.template.hasOutput('NotifyQueueUrl', { Value: { Ref: logicalId(b.stack.notify.queue) } });
    expect(Object.keys(deployed.template.findOutputs('PublisherRoleArn'))).toEqual([]);
  });

  it("without -c publisherExternalId the role requires the stack's own id, printed as PublisherExternalId", () => {
    const b = build({ publisherAccountId: PUBLISHER_ACCOUNT, ...NO_BUNDLING });
    const stackUuid = { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] };
    const [[, role]] = rolesTrusting(b);
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({ StringEquals: { 'sts:ExternalId': stackUuid } });
    b.template.hasOutput('PublisherExternalId', { Value: stackUuid });
  });
});

describe('outputs', () => {
  it('prints what DingTalk, Flashduty and the tenant CLI need', () => {
    const { stack, template } = deployed;
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [logicalId(stack.api), 'ApiEndpoint'] } });
    template.hasOutput('CallbackUrl', { Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.api), 'ApiEndpoint'] }, '/dingtalk/<tenantId>/callback']] } });
    template.hasOutput('HomepageUrl', { Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.api), 'ApiEndpoint'] }, '/dingtalk/<tenantId>/home']] } });
    template.hasOutput('TableName', { Value: { Ref: logicalId(stack.table) } });
    template.hasOutput('NotifyQueueUrl', { Value: { Ref: logicalId(stack.notify.queue) } });
    template.hasOutput('NotifyQueueArn', { Value: getAtt(stack.notify.queue) });
    template.hasOutput('NotifyPublisherPolicyArn', { Value: { Ref: logicalId(stack.publisherPolicy) } });
    template.hasOutput('UnparkFunctionName', { Value: { Ref: logicalId(stack.functions.unpark) } });
    expect(Object.keys(template.findOutputs('AlarmTopicArn'))).toEqual([]);
  });

  it('prints the dead-letter queues (URL and ARN, for the dlq CLI and aws sqs start-message-move-task) and the dashboard', () => {
    const { stack, template } = deployed;
    for (const [name, q] of [['Events', stack.events], ['Notify', stack.notify], ['Drain', stack.drain]] as const) {
      template.hasOutput(`${name}DlqUrl`, { Value: { Ref: logicalId(q.dlq) } });
      template.hasOutput(`${name}DlqArn`, { Value: getAtt(q.dlq) });
    }
    const [url] = Object.values(template.findOutputs('DashboardUrl'));
    expect(JSON.stringify(url.Value)).toContain('#dashboards/dashboard/DingtalkBridge');
  });

  it('adds the alarm topic with -c alarmEmail', () => {
    configured.template.hasOutput('AlarmTopicArn', { Value: { Ref: Match.anyValue() } });
  });
});

describe('cdk-nag AwsSolutions', () => {
  // The same check the app registers with Validations.of(app).addPlugins(...): its validate() runs validateScope(app).
  it.each(['deployed', 'configured'])('finds nothing unacknowledged in the %s stack', (which) => {
    const b = which === 'deployed' ? deployed : configured;
    const report = new AwsSolutionsChecks().validateScope(b.app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('records a written reason for every acknowledged finding', () => {
    const acknowledged = [deployed, configured]
      .flatMap((b) => b.stack.node.findAll())
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) {
      expect(id).toMatch(/AwsSolutions-/);
      expect(reason.length).toBeGreaterThan(40);
    }
  });

  it('reports no CDK errors or warnings', () => {
    for (const b of [deployed, configured]) {
      expect(Annotations.fromStack(b.stack).findError('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(b.stack).findWarning('*', Match.anyValue())).toEqual([]);
    }
  });
});

describe('context', () => {
  it('reads -c values given as strings', () => {
    const app = new App({ context: { retain: 'false', alarmEmail: ALARM_EMAIL, apiRateLimit: '20', stackName: 'Staging' } });
    expect(stackPropsFromContext(app)).toMatchObject({ stackName: 'Staging', retain: false, alarmEmail: ALARM_EMAIL, apiThrottle: { rateLimit: 20, burstLimit: 100 } });
  });

  it('reads the unpark period and the sender concurrency, as -c strings or cdk.json numbers', () => {
    expect(stackPropsFromContext(new App({ context: { unparkMinutes: '15', maxConcurrency: '50' } }))).toMatchObject({ unparkMinutes: 15, senderMaxConcurrency: 50 });
    expect(stackPropsFromContext(new App({ context: { unparkMinutes: 1, maxConcurrency: 2 } }))).toMatchObject({ unparkMinutes: 1, senderMaxConcurrency: 2 });
  });

  it('defaults to a retained stack named DingtalkBridge without alarm e-mail', () => {
    expect(stackPropsFromContext(new App())).toMatchObject({
      stackName: 'DingtalkBridge',
      retain: true,
      alarmEmail: undefined,
      apiThrottle: undefined,
      unparkMinutes: undefined,
      senderMaxConcurrency: undefined,
    });
  });

  it('reads the publisher account and its ExternalId', () => {
    expect(stackPropsFromContext(new App({ context: { publisherAccountId: PUBLISHER_ACCOUNT } }))).toMatchObject({ publisher: { accountId: PUBLISHER_ACCOUNT, externalId: undefined } });
    expect(stackPropsFromContext(new App({ context: { publisherAccountId: PUBLISHER_ACCOUNT, publisherExternalId: 'fd:tenant/42' } }))).toMatchObject({
      publisher: { accountId: PUBLISHER_ACCOUNT, externalId: 'fd:tenant/42' },
    });
    expect(stackPropsFromContext(new App()).publisher).toBeUndefined();
  });

  it('rejects a mistyped option instead of deploying something else', () => {
    for (const publisherAccountId of ['12345', '1111-2222-3333', 'flashduty']) {
      expect(() => stackPropsFromContext(new App({ context: { publisherAccountId } }))).toThrow(/publisherAccountId/);
    }
    expect(() => stackPropsFromContext(new App({ context: { publisherExternalId: 'abc' } }))).toThrow(/publisherAccountId/);
    expect(() => stackPropsFromContext(new App({ context: { publisherAccountId: PUBLISHER_ACCOUNT, publisherExternalId: 'has space' } }))).toThrow(/publisherExternalId/);
    expect(() => stackPropsFromContext(new App({ context: { retain: 'no' } }))).toThrow(/retain/);
    expect(() => stackPropsFromContext(new App({ context: { alarmEmail: 'oncall' } }))).toThrow(/alarmEmail/);
    for (const unparkMinutes of ['0', '2.5', 'ten', '1441']) {
      expect(() => stackPropsFromContext(new App({ context: { unparkMinutes } }))).toThrow(/unparkMinutes/);
    }
    // SQS maximum concurrency is 2 to 1000.
    for (const maxConcurrency of ['1', '1001', '7.5', 'lots']) {
      expect(() => stackPropsFromContext(new App({ context: { maxConcurrency } }))).toThrow(/maxConcurrency/);
    }
  });
});
