/**
 * The pages' one style sheet: plain, readable, with a visible focus ring. At 320 px wide (WCAG 1.4.10, Reflow) no
 * page scrolls sideways: a long word (an email address, a link in an answer) breaks, and a table wider than the
 * screen scrolls in its own box (`.table-scroll`).
 */
export const PAGES_STYLE = `body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 0 1rem 2rem; color: #1a1a1a; overflow-wrap: break-word; }
header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: 1rem; border-bottom: 1px solid #ccc; }
header > * { min-width: 0; }
nav a { margin-right: 1rem; }
nav a[aria-current="page"] { font-weight: bold; }
label { display: block; font-weight: 600; margin-top: 0.75rem; }
input, textarea { font: inherit; width: 100%; max-width: 36rem; box-sizing: border-box; padding: 0.4rem; }
button { font: inherit; margin-top: 0.5rem; padding: 0.3rem 0.8rem; }
button[aria-disabled="true"] { opacity: 0.6; cursor: progress; }
:focus-visible { outline: 3px solid #1557b0; outline-offset: 2px; }
.field { margin-bottom: 1rem; }
.key-status { margin: 0.25rem 0; color: #444; }
[role="alert"], .error { color: #a40000; }
table { border-collapse: collapse; margin: 1rem 0; }
.table-scroll { overflow-x: auto; position: relative; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; }
caption { text-align: left; font-weight: 600; }
#answer { white-space: pre-wrap; border: 1px solid #ccc; padding: 0.5rem; min-height: 3rem; max-width: 48rem; }
.chart { max-width: 40rem; }
.bar-row { display: flex; align-items: center; gap: 0.5rem; margin: 0.2rem 0; }
.bar-label { width: 7rem; flex: none; }
.bar { background: #1557b0; height: 1rem; min-width: 1px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`;
