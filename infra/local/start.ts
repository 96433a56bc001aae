import { STACK_ENV_FILE } from '../../lib/cli/stackEnv';
import { CALLBACK_ROUTE, CARD_CALLBACK_ROUTE, LINK_PAGE_ROUTE } from '../../lib/contracts/routes';
import { SIM_CONTROL_PATHS } from '../../lib/contracts/simControl';
import { startLocalStack } from './stack';

/** `npm start`: runs the local stack until Ctrl-C / SIGTERM, then stops everything it started. */
async function main(): Promise<void> {
  const stack = await startLocalStack({ envFile: STACK_ENV_FILE, print: (line) => console.log(line) });
  const e = stack.env;
  console.log(`dingtalk-bridge local stack is up
  HTTP API        ${e.API_URL}
    callback      ${CALLBACK_ROUTE.method} ${e.API_URL}${CALLBACK_ROUTE.path.replace(/\{(\w+)\}/g, '<$1>')}
    card presses  ${CARD_CALLBACK_ROUTE.method} ${e.API_URL}${CARD_CALLBACK_ROUTE.path.replace(/\{(\w+)\}/g, '<$1>')}
    link page     ${LINK_PAGE_ROUTE.method} ${e.API_URL}${LINK_PAGE_ROUTE.path.replace(/\{(\w+)\}/g, '<$1>')} (npm run tenant -- --local link-url <tenantId> <memberId>)
  DynamoDB Local  ${e.AWS_ENDPOINT_URL_DYNAMODB}  table ${e.TABLE_NAME}
  SQS server      ${e.AWS_ENDPOINT_URL_SQS}
    events queue  ${e.EVENTS_QUEUE_URL}
    notify queue  ${e.NOTIFY_QUEUE_URL}
    actions queue ${e.ACTIONS_QUEUE_URL}
    to Flashduty  ${e.FLASHDUTY_ACTIONS_QUEUE_URL} (member.link and button actions)
  DingTalk        ${stack.simulator ? `simulator ${e.DINGTALK_API_URL} (seeded from infra/local/dingtalkSimulator/seed.json; tenants' apps synced)` : e.DINGTALK_API_URL}
  Flashduty       ${stack.flashduty ? `simulator ${e.FLASHDUTY_API_URL} (seeded from infra/local/flashdutySimulator/seed.json)` : e.FLASHDUTY_API_URL}
${e.SIMULATOR_CONTROL_URL ? `  Sim control     ${e.SIMULATOR_CONTROL_URL}${SIM_CONTROL_PATHS.index} (loopback only: npm run sim -- --local cards | press | auth-code | link | group | flashduty)
` : ''}Endpoints written to ${STACK_ENV_FILE}; CLI commands with --local use them. Ctrl-C stops.`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping local stack...`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((e) => {
  console.error(`local stack failed to start: ${(e as Error).message}`);
  process.exit(1);
});
