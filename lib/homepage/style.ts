import { createHash } from 'node:crypto';

/**
 * The page's only stylesheet, inlined in a `<style>` element and allowed by its hash in the
 * Content-Security-Policy (no `'unsafe-inline'`). Mobile first; two columns from 768 px.
 */
export const STYLE = [
  ':root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--fg:#1f2329;--muted:#646a73;--line:#dee0e3;--ok:#0f7b3f;--ok-bg:#e9f7ef;--bad:#b42318;--bad-bg:#fdeeec;--warn:#8a5a00;--accent:#1456f0}',
  '@media (prefers-color-scheme:dark){:root{--bg:#17181a;--card:#222326;--fg:#e8e9eb;--muted:#a3a6ad;--line:#3a3b3f;--ok:#3fb56e;--ok-bg:#16321f;--bad:#e5655a;--bad-bg:#3a1d1b;--warn:#f0b44c;--accent:#7aa2ff}}',
  '*{box-sizing:border-box}',
  'html{-webkit-text-size-adjust:100%;text-size-adjust:100%}',
  'body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei",Roboto,"Noto Sans",sans-serif}',
  'main{max-width:920px;margin:0 auto;padding:16px}',
  'header{margin:4px 0 14px}',
  '.brand{margin:0;color:var(--muted);font-size:13px}',
  'h1{margin:2px 0 0;font-size:22px;line-height:1.3}',
  'h2{margin:0 0 10px;font-size:16px;line-height:1.35}',
  'section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px;margin:0 0 12px;min-width:0}',
  '.status.ok{border-color:var(--ok);background:var(--ok-bg)}',
  '.status.bad{border-color:var(--bad);background:var(--bad-bg)}',
  '.badge{display:inline-block;margin:0 0 8px;padding:2px 10px;border-radius:999px;font-weight:600;font-size:13px;color:#fff;background:var(--ok)}',
  '.bad .badge{background:var(--bad)}',
  'p{margin:0 0 8px}',
  'p:last-child,ol:last-child,ul:last-child{margin-bottom:0}',
  'a{color:var(--accent)}',
  'code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}',
  'dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:6px 16px;margin:0}',
  'dt{color:var(--muted)}',
  'dd{margin:0;min-width:0;overflow-wrap:anywhere}',
  '@media (max-width:480px){dl{grid-template-columns:minmax(0,1fr);gap:0}dd{margin-bottom:8px}}',
  'ul.groups{list-style:none;margin:0;padding:0}',
  'ul.groups li{display:flex;flex-wrap:wrap;justify-content:space-between;gap:2px 12px;padding:8px 0;border-top:1px solid var(--line)}',
  'ul.groups li:first-child{border-top:0;padding-top:0}',
  '.title{font-weight:500;overflow-wrap:anywhere;min-width:0}',
  '.muted{color:var(--muted);font-size:13px}',
  '.warn{color:var(--warn);font-weight:600}',
  '.figure{font-size:20px;font-weight:600;margin:0}',
  'meter{display:block;width:100%;height:14px;margin:8px 0}',
  'ol.steps{margin:0;padding-left:22px}',
  'ol.steps li{margin:0 0 8px;overflow-wrap:anywhere}',
  'summary{cursor:pointer;font-weight:600}',
  'details[open] summary{margin-bottom:10px}',
  'footer{color:var(--muted);font-size:12px;text-align:center;margin:16px 0 8px}',
  '@media (min-width:768px){main{padding:32px 24px}h1{font-size:26px}.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:12px;margin:0 0 12px}.cols>section{margin:0}}',
].join('');

/** The CSP source for {@link STYLE}: `'sha256-<base64>'`. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;
