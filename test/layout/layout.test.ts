import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * The layout rules of docs/DESIGN.md ("Conventions"), checked on every `npm test`: no import circle
 * anywhere (type-only imports included), and no lib/ file over MAX_LINES without a reason at its top.
 */
const ROOT = join(__dirname, '..', '..');
const MAX_LINES = 350;

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });

describe('the layout', () => {
  it('has no import circle in functions, lib, infra or test (type-only imports included)', () => {
    // dpdm's CLI (its library entry is ESM-only, which jest's CommonJS runtime cannot load).
    const bin = join(ROOT, 'node_modules', 'dpdm', 'lib', 'bin', 'dpdm.js');
    const report = execFileSync(process.execPath, [bin, '--no-tree', '--no-warning', '--no-progress', 'functions/**/*.ts', 'lib/**/*.ts', 'infra/**/*.ts', 'test/**/*.ts'], { cwd: ROOT, encoding: 'utf8' });
    const circles = report.split('\n').filter((line) => /^\s*\d+\) /.test(line));
    expect(report).toContain('Circular Dependencies');
    expect(circles).toEqual([]);
  }, 120_000);

  it(`keeps every lib/ file under ${MAX_LINES} lines, or says at its top why not`, () => {
    const long = filesUnder(join(ROOT, 'lib'))
      .map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }))
      .filter(({ text }) => text.split('\n').length > MAX_LINES && !/^\/\*\*[\s\S]*?Longer than \d+ lines because/.test(text))
      .map(({ path }) => path);
    expect(long).toEqual([]);
  });

  it('cites design notes inside the repository only', () => {
    const outside = ['functions', 'lib', 'infra', 'test']
      .flatMap((d) => filesUnder(join(ROOT, d)))
      .filter((path) => path !== __filename)
      .filter((path) => /(?<![\w/])(DESIGN|DINGTALK)\.md|\.\.\/shared\//.test(readFileSync(path, 'utf8').replace(/docs\/DESIGN\.md/g, '')))
      .map((path) => relative(ROOT, path));
    expect(outside).toEqual([]);
  });
});
