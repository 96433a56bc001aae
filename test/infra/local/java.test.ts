import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { javaProblem } from '../../../infra/local/java';

const ROOT = join(__dirname, '..', '..', '..');

/** What a newcomer without Java 17 reads first from `npm test` and `npm start`. */
describe('the Java check before DynamoDB Local', () => {
  const noJava = () => undefined;
  const java = (versionLine: string) => () => `${versionLine}\nOpenJDK Runtime Environment\n`;

  it('names what is missing and the one command that installs it on Debian/Ubuntu', () => {
    expect(javaProblem(noJava, 'linux', 'ID=debian\nVERSION_ID="12"\n')).toBe(
      'Java 17+ is missing: DynamoDB Local needs it (no java on PATH). Install it with:\n  sudo apt-get install -y openjdk-17-jre-headless',
    );
  });

  it.each([
    ['ID=debian\nVERSION_ID="13"', 'sudo apt-get install -y openjdk-21-jre-headless'],
    ['ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"', 'sudo apt-get install -y openjdk-17-jre-headless'],
    ['ID="fedora"\nVERSION_ID=41', 'sudo dnf install -y java-17-openjdk-headless'],
    ['ID="amzn"\nID_LIKE="centos rhel fedora"', 'sudo dnf install -y java-17-amazon-corretto-headless'],
    ['ID=alpine', 'sudo apk add openjdk17-jre-headless'],
  ])('gives the command of the Linux distribution (%j)', (osRelease, command) => {
    expect(javaProblem(noJava, 'linux', osRelease)).toMatch(new RegExp(`\\n {2}${command.replace(/[-.]/g, '\\$&')}$`));
  });

  it('gives the Homebrew command on macOS', () => {
    expect(javaProblem(noJava, 'darwin')).toMatch(/\n {2}brew install --cask temurin@17$/);
  });

  it.each([
    ['openjdk version "11.0.20" 2023-07-18', 'found Java 11'],
    ['java version "1.8.0_392"', 'found Java 8'],
    ['Error: could not find libjava.so', 'java -version said: Error: could not find libjava.so'],
  ])('says which Java it found when it is too old or broken: %s', (line, found) => {
    expect(javaProblem(java(line), 'linux')).toContain(`(${found})`);
  });

  it.each(['openjdk version "17.0.15" 2025-04-15', 'openjdk version "21" 2023-09-19', 'Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "25.0.1" 2025-10-21'])(
    'has nothing to say with Java 17 or newer: %s',
    (line) => {
      expect(javaProblem(java(line), 'linux')).toBeUndefined();
    },
  );

  it('npm start without java on PATH says so first, with the command, and exits', () => {
    const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const run = spawnSync(process.execPath, [tsx, 'infra/local/start.ts'], { cwd: ROOT, env: { ...process.env, PATH: '/nonexistent', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimStart()).toMatch(/^local stack failed to start: Java 17\+ is missing: DynamoDB Local needs it \(no java on PATH\)\. Install it with:\n {2}\S/);
  });
});
