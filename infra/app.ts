import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './context';
import { DingtalkBridgeStack } from './stack';

/**
 * The CDK app: one DingtalkBridgeStack, checked by cdk-nag's AwsSolutions pack (a finding that is not
 * acknowledged with a reason fails synth). Options come from context: see infra/context.ts.
 */
const app = new App();
const { stackName, ...props } = stackPropsFromContext(app);
new DingtalkBridgeStack(app, stackName, props);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
