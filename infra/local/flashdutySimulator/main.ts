/**
 * Runs the Flashduty simulator standalone: `PORT=8788 npx tsx infra/local/flashdutySimulator/main.ts`.
 * Seeds the demo account of seed.json (APP Key `fd-local-app-key`) so a local bridge can talk to it.
 */
import { startLocalFlashduty } from './local';

async function main(): Promise<void> {
  const local = await startLocalFlashduty({ port: Number(process.env.PORT ?? 0), print: (line) => console.log(line) });
  console.log(`Flashduty simulator listening: FLASHDUTY_API_URL=${local.sim.url} (demo app_key fd-local-app-key)`);
  const stop = (): void => { void local.stop().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
