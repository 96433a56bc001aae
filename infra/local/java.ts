import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * DynamoDB Local (the local stack's and the integration tests' table) runs on Java 17+. Without it,
 * say what is missing and the one command that installs it, before anything else.
 */

export const MIN_JAVA = 17;

/** What `java -version` printed, or undefined when there is no `java` on PATH. */
export type JavaProbe = () => string | undefined;

/** Java is missing or too old for DynamoDB Local; the message carries the install command. */
export class JavaMissingError extends Error {
  override readonly name = 'JavaMissingError';
}

export const probeJava: JavaProbe = () => {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 30_000 });
  return r.error ? undefined : `${r.stderr}${r.stdout}`;
};

/**
 * The major version in `java -version` output (`1.8.0_292` is 8), or undefined when it names none.
 *
 * @example
 * javaMajor('openjdk version "17.0.15" 2025-04-15'); // 17
 */
export function javaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!m) return undefined;
  return m[1] === '1' && m[2] ? Number(m[2]) : Number(m[1]);
}

/** /etc/os-release of this machine ('' where there is none). */
const readOsRelease = (): string => {
  try {
    return readFileSync('/etc/os-release', 'utf8');
  } catch {
    return '';
  }
};

/**
 * The one command that installs a Java DynamoDB Local runs on, for this system: Homebrew's Temurin
 * on macOS; on Linux the distribution's package (by /etc/os-release: Debian 13 packages Java 21, not
 * 17; Fedora/RHEL and Amazon Linux (Corretto) use dnf, Alpine apk); otherwise Debian/Ubuntu's.
 *
 * @example
 * installJavaCommand('linux', 'ID=debian\nVERSION_ID="12"') // 'sudo apt-get install -y openjdk-17-jre-headless'
 */
export function installJavaCommand(platform: NodeJS.Platform = process.platform, osRelease: string = platform === 'linux' ? readOsRelease() : ''): string {
  if (platform === 'darwin') return 'brew install --cask temurin@17';
  if (platform === 'win32') return 'winget install EclipseAdoptium.Temurin.17.JRE';
  const field = (name: string) => new RegExp(`^${name}="?([^"\n]*)"?$`, 'm').exec(osRelease)?.[1] ?? '';
  const ids = `${field('ID')} ${field('ID_LIKE')}`;
  if (field('ID') === 'amzn') return 'sudo dnf install -y java-17-amazon-corretto-headless';
  if (/\b(fedora|rhel|centos)\b/.test(ids)) return 'sudo dnf install -y java-17-openjdk-headless';
  if (/\balpine\b/.test(ids)) return 'sudo apk add openjdk17-jre-headless';
  if (field('ID') === 'debian' && Number(field('VERSION_ID')) >= 13) return 'sudo apt-get install -y openjdk-21-jre-headless';
  return 'sudo apt-get install -y openjdk-17-jre-headless';
}

/**
 * Why DynamoDB Local cannot run here and how to fix it; undefined when Java 17+ is on PATH.
 *
 * @example
 * const problem = javaProblem();
 * if (problem) console.error(problem); // Java 17+ is missing (...). Install it with: sudo apt-get ...
 */
export function javaProblem(probe: JavaProbe = probeJava, platform: NodeJS.Platform = process.platform, osRelease?: string): string | undefined {
  const out = probe();
  const major = out === undefined ? undefined : javaMajor(out);
  if (major !== undefined && major >= MIN_JAVA) return undefined;
  const found = out === undefined ? 'no java on PATH' : major === undefined ? `java -version said: ${out.trim().split('\n')[0]}` : `found Java ${major}`;
  return `Java ${MIN_JAVA}+ is missing: DynamoDB Local needs it (${found}). Install it with:\n  ${installJavaCommand(platform, osRelease)}`;
}
