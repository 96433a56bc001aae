import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A Chinese font for the test browser, as any phone that opens the homepage in DingTalk has one.
 * It comes through npm: `@embedpdf/fonts-sc` ships Noto Sans Hans (Noto Sans CJK SC cut to GB2312,
 * OFL-1.1) as .otf files. Chromium finds fonts through fontconfig, which reads FONTCONFIG_FILE
 * from the environment the browser is started with (Playwright passes on the test process's).
 */

/** The folder of the package's .otf files (its exports list no file, so found from its entry). */
export const CJK_FONT_DIR = join(dirname(require.resolve('@embedpdf/fonts-sc')), '..', 'fonts');

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Adds {@link CJK_FONT_DIR} to the fonts the machine has (its fontconfig setup when there is one,
 * and <tmp>/fonts where @sparticuz/chromium unpacks its own) for every browser this process launches
 * from now on; returns the undo. Call it before the browser starts.
 *
 * @example
 * beforeAll(() => void (undoFont = useCjkFont()));
 * afterAll(() => undoFont?.());
 */
export function useCjkFont(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fontconfig-'));
  const file = join(dir, 'fonts.conf');
  writeFileSync(
    file,
    [
      '<?xml version="1.0"?>',
      '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
      '<fontconfig>',
      '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
      `  <dir>${xml(join(tmpdir(), 'fonts'))}</dir>`,
      `  <dir>${xml(CJK_FONT_DIR)}</dir>`,
      `  <cachedir>${xml(join(dir, 'cache'))}</cachedir>`,
      '</fontconfig>',
      '',
    ].join('\n'),
  );
  const before = process.env.FONTCONFIG_FILE;
  process.env.FONTCONFIG_FILE = file;
  return () => {
    if (before === undefined) delete process.env.FONTCONFIG_FILE;
    else process.env.FONTCONFIG_FILE = before;
    rmSync(dir, { recursive: true, force: true });
  };
}
