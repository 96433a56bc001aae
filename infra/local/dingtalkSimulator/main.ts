/**
 * Runs the DingTalk simulator standalone: `PORT=8787 npx tsx infra/local/dingtalkSimulator/main.ts`.
 * Seeds one demo organisation (credentials below) so a local bridge can talk to it.
 */
import { startSimulator } from './simulator';

async function main(): Promise<void> {
  const sim = await startSimulator({ port: Number(process.env.PORT ?? 0) });
  const corpId = 'dingcorpdemo';
  sim.addApp({ clientId: 'dingdemoapp', clientSecret: 'demo-secret', corpId, qps: 20, monthlyQuota: 10_000 });
  sim.addUser(corpId, { userId: 'user1', mobile: '13800000001' });
  sim.addUser(corpId, { userId: 'user2', mobile: '13800000002' });
  sim.addGroup(corpId, { openConversationId: 'cidDemoGroup==' });
  sim.addTemplate(corpId, { templateId: 'tpl-demo', botId: 'dingdemobot', installDelayMs: 2000 });
  console.log(`DingTalk simulator listening: DINGTALK_API_URL=${sim.url} DINGTALK_OAPI_URL=${sim.oapiUrl}`);
  console.log(`demo app: clientId=dingdemoapp clientSecret=demo-secret corpId=${corpId}`);
  const stop = (): void => { void sim.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
