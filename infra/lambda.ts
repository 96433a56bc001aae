import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';

/** Repository root: the esbuild project root, where package-lock.json lives. */
export const PROJECT_ROOT = join(__dirname, '..');

/**
 * ES modules (middy 6 ships ESM only), with `require` restored for the few CommonJS dependencies
 * that call it. `@aws-sdk/*` is bundled, not taken from the runtime: see README "Bundle size".
 */
export const BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: "import{createRequire}from'node:module';const require=createRequire(import.meta.url);",
  externalModules: [],
  minify: true,
  sourceMap: true,
  // Stack traces only need the mappings; leaving the sources out halves the asset.
  sourcesContent: false,
  forceDockerBundling: false,
} as const;

export interface BundledFunctionProps {
  /** Path of the handler file (exporting `handler`). */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRemovalPolicy: RemovalPolicy;
  readonly memorySize?: number;
  /** Retries of a failed asynchronous invocation (0-2). @default Lambda's default, 2 */
  readonly retryAttempts?: number;
}

/**
 * One Lambda function per handler file: Node.js 22 on arm64, bundled locally with esbuild, X-Ray
 * tracing active, its own one-month log group and its own role. The role gets write access to that log group only (no AWS
 * managed policy); callers add the grants the handler needs.
 *
 * @example
 * const fn = bundledFunction(this, 'CallbackFunction', { entry: 'functions/callback.ts', ... });
 * table.grantReadData(fn);
 */
export function bundledFunction(scope: Construct, id: string, props: BundledFunctionProps): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.logRemovalPolicy,
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `${props.description} (execution role)`,
  });
  logGroup.grantWrite(role);
  return new NodejsFunction(scope, id, {
    entry: props.entry,
    handler: 'handler',
    description: props.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 512,
    timeout: props.timeout,
    retryAttempts: props.retryAttempts,
    // X-Ray: the functions' Powertools tracer (lib/tracer.ts) sends its segments; adds xray:Put* to the role.
    tracing: lambda.Tracing.ACTIVE,
    role,
    logGroup,
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    bundling: { ...BUNDLING, mainFields: [...BUNDLING.mainFields], externalModules: [...BUNDLING.externalModules] },
  });
}
