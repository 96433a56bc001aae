import { javaProblem } from '../../infra/local/java';

/**
 * Jest's global setup, before any test: when Java for DynamoDB Local is missing, that (and the command
 * that installs it) is the first thing printed. The tests on the local services then fail with the
 * same message; the others still run.
 */
export default function globalSetup(): void {
  const problem = javaProblem();
  if (problem) process.stderr.write(`\n${problem}\n\n`);
}
