import { spawnSync } from 'node:child_process';

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

/** The one command that installs Java 17 here: Homebrew's Temurin on macOS, else Debian/Ubuntu's package. */
export const installJavaCommand = (platform: NodeJS.Platform = process.platform): string =>
  platform === 'darwin' ? 'brew install --cask temurin@17' : 'sudo apt-get install -y openjdk-17-jre-headless';

/**
 * Why DynamoDB Local cannot run here and how to fix it; undefined when Java 17+ is on PATH.
 *
 * @example
 * const problem = javaProblem();
 * if (problem) console.error(problem); // Java 17+ is missing (...). Install it with: sudo apt-get ...
 */
export function javaProblem(probe: JavaProbe = probeJava, platform: NodeJS.Platform = process.platform): string | undefined {
  const out = probe();
  const major = out === undefined ? undefined : javaMajor(out);
  if (major !== undefined && major >= MIN_JAVA) return undefined;
  const found = out === undefined ? 'no java on PATH' : major === undefined ? `java -version said: ${out.trim().split('\n')[0]}` : `found Java ${major}`;
  return `Java ${MIN_JAVA}+ is missing: DynamoDB Local needs it (${found}). Install it with:\n  ${installJavaCommand(platform)}`;
}
