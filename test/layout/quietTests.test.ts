import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Runs jest (this project's config) on the fixture file; what it printed. */
function jestOnFixture(env: NodeJS.ProcessEnv): string {
  const jest = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
  const run = spawnSync(process.execPath, [jest, '--testMatch', '**/fixtures/quiet/*.fixture.ts', '--coverage=false', 'test/fixtures/quiet'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(run.status).toBe(1); // the fixture has a failing test
  return `${run.stdout}${run.stderr}`;
}

describe('npm test is quiet', () => {
  it("prints what a test wrote only when that test fails, under the test's name", () => {
    const { LOG_LEVEL: _unset, ...env } = process.env;
    const out = jestOnFixture(env);
    expect(out).toMatch(/output of the failed test "fails, printing" ──\nFAILING-CONSOLE\nFAILING-STDOUT\n/);
    expect(out).not.toContain('PASSING-CONSOLE');
    expect(out).not.toContain('PASSING-STDOUT');
  });

  it('prints everything as it happens with LOG_LEVEL set', () => {
    const out = jestOnFixture({ ...process.env, LOG_LEVEL: 'INFO' });
    expect(out).toContain('PASSING-CONSOLE');
    expect(out).toContain('PASSING-STDOUT');
    expect(out).toContain('FAILING-CONSOLE');
  });
});
