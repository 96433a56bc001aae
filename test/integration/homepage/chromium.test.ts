import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromiumPath, launchChromium } from '../../support/browser';

/** The Chromium the browser tests drive, on a machine with one or without any. */
describe('the browser tests\' Chromium', () => {
  let dirs: string[] = [];
  const aDirWith = (name: string, mode: number): string => {
    const dir = mkdtempSync(join(tmpdir(), 'chromium-path-'));
    dirs.push(dir);
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), mode);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs = [];
  });

  it('is CHROMIUM_PATH when set, whatever is on PATH', async () => {
    const onPath = aDirWith('chromium', 0o755);
    expect(await chromiumPath({ CHROMIUM_PATH: '/opt/chrome/chrome', PATH: onPath })).toBe('/opt/chrome/chrome');
  });

  it('is the first executable Chromium on PATH otherwise', async () => {
    const notExecutable = aDirWith('chromium', 0o644);
    const chrome = aDirWith('google-chrome', 0o755);
    const later = aDirWith('chromium', 0o755);
    expect(await chromiumPath({ PATH: [notExecutable, chrome, later].join(delimiter) })).toBe(join(chrome, 'google-chrome'));
  });

  it.each([
    ['linux', 'arm64'],
    ['darwin', 'arm64'],
    ['win32', 'x64'],
  ])('without either on %s/%s (no npm Chromium for it, no Chrome app), says what to install', async (platform, arch) => {
    const env = { PATH: aDirWith('node', 0o755) };
    await expect(chromiumPath(env, { platform: platform as NodeJS.Platform, arch })).rejects.toThrow(/install Google Chrome or Chromium, or set CHROMIUM_PATH/);
  });

  it('without either, is the one npm installed (unpacked to the temp dir), and it renders a page', async () => {
    const env = { PATH: aDirWith('node', 0o755) };
    expect(await chromiumPath(env)).toBe(join(tmpdir(), 'chromium'));
    const browser = await launchChromium(env);
    try {
      const page = await browser.newPage();
      await page.setContent('<h1 style="width:200px">Linked</h1>');
      expect(await page.evaluate<string>('document.querySelector("h1").getBoundingClientRect().width + " " + document.querySelector("h1").innerText')).toBe('200 Linked');
    } finally {
      await browser.close();
    }
  });
});
