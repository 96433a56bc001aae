import { accessSync, constants, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/**
 * The headless Chromium every browser test drives (playwright-core): CHROMIUM_PATH when set, else a
 * Chromium on PATH, else the one npm installed: @sparticuz/chromium ships a Linux x86_64 headless
 * Chromium brotli-compressed in the package and unpacks it to the temp dir on first use (it needs
 * libnss3, which Debian's and Ubuntu's Java 17 package brings).
 */

const NAMES_ON_PATH = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];
/** Where macOS keeps Chrome and Chromium (not on PATH). */
const MAC_APPS = ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'];

const ARGS = ['--headless', '--no-sandbox', '--no-zygote', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The Chromium to launch: CHROMIUM_PATH, else the first Chromium on PATH, else (macOS) Chrome or
 * Chromium in /Applications, else npm's on Linux x86_64; elsewhere an error that says what to install.
 *
 * @example
 * await chromiumPath({ PATH: '/usr/bin' }); // '/usr/bin/chromium' when Debian's is installed
 */
export async function chromiumPath(env: NodeJS.ProcessEnv = process.env, { platform, arch }: { platform: NodeJS.Platform; arch: string } = process): Promise<string> {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const found = NAMES_ON_PATH.map((name) => join(dir, name)).find(executable);
    if (found) return found;
  }
  const app = platform === 'darwin' ? MAC_APPS.find(executable) : undefined;
  if (app) return app;
  if (platform !== 'linux' || arch !== 'x64') {
    throw new Error('no Chromium for the browser tests: install Google Chrome or Chromium, or set CHROMIUM_PATH to its binary (the one npm installs runs on Linux x86_64 only)');
  }
  return unpackOnce();
}

let unpacking: Promise<string> | undefined;

/** npm's Chromium, unpacked once per process (the package reuses an earlier unpack). */
function unpackOnce(): Promise<string> {
  unpacking ??= unpack();
  return unpacking;
}

const pidIn = (file: string): number => {
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return 0;
  }
};

const alive = (pid: number): boolean => {
  try {
    return process.kill(pid, 0);
  } catch {
    return false;
  }
};

/**
 * The package unpacks straight to <tmp>/chromium and takes any file there for done, so one process
 * unpacks at a time (a lock file holding its pid) and a finished unpack is marked: a half-written
 * binary from a killed run is unpacked again.
 */
async function unpack(): Promise<string> {
  const { default: bundled } = await import('@sparticuz/chromium');
  // Per version of the package: after an upgrade, its Chromium is unpacked afresh.
  const version = JSON.parse(readFileSync(join(dirname(require.resolve('@sparticuz/chromium')), '..', '..', 'package.json'), 'utf8')).version as string;
  const ready = join(tmpdir(), `chromium.unpacked-${version}`);
  const lock = join(tmpdir(), 'chromium.unpacking');
  while (!existsSync(ready)) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
    } catch {
      const holder = pidIn(lock);
      if (holder && !alive(holder)) rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      rmSync(join(tmpdir(), 'chromium'), { force: true });
      await bundled.executablePath();
      writeFileSync(ready, '');
    } finally {
      rmSync(lock, { force: true });
    }
  }
  return bundled.executablePath();
}

/**
 * Launches headless Chromium (the one {@link chromiumPath} finds in `env`) for a test file; close it
 * in afterAll.
 *
 * @example
 * beforeAll(async () => { browser = await launchChromium(); });
 * afterAll(async () => browser?.close());
 */
export async function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumPath(env), args: ARGS });
}
