/**
 * Writes the report folder's three documents from one LabReport: metrics.json (the data),
 * report.md (for a repository or a diff) and index.html (self-contained: charts and image
 * grids are embedded as data URIs, so the one file opens anywhere). Rewritten before the
 * first experiment and after every epoch, so an interrupted run can be resumed and still
 * leaves a readable report of what finished.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Conclusion, ExperimentResult, HeadlineRow, LabReport, Table, TextBlock } from './types';
import { conclusions } from './conclusions';
import { RULE_TEXT, accuracyCell } from './stats';
import { deviceLabel, duration, num, pct } from './format';
import { outsideProblem, writeTextAtomic } from './store';

/** Each file atomically: --resume reads metrics.json, and a kill must never leave half of it. */
export function writeReport(dir: string, run: LabReport): void {
  const report: LabReport = { ...run, conclusions: conclusions(run) };
  writeTextAtomic(join(dir, 'metrics.json'), JSON.stringify(report, null, 2));
  writeTextAtomic(join(dir, 'report.md'), markdown(report));
  writeTextAtomic(join(dir, 'index.html'), html(dir, report));
}

const HEADLINE_COLUMNS = ['#', 'experiment', 'model', 'device', 'data', 'epochs', 'seconds', 'train loss', 'test loss', 'train acc.', 'test acc. [95 % CI]', 'PSNR (dB)', 'SSIM'];

function headlineCells(r: HeadlineRow, n: number): string[] {
  return [
    String(n),
    r.experiment,
    r.model,
    r.device,
    r.data,
    String(r.epochs),
    r.seconds.toFixed(1),
    num(r.trainLoss),
    num(r.testLoss),
    pct(r.trainAccuracy),
    r.testAccuracy !== null && r.testCount ? accuracyCell({ correct: Math.round(r.testAccuracy * r.testCount), n: r.testCount }) : pct(r.testAccuracy),
    r.psnr === undefined ? '' : num(r.psnr, 2),
    r.ssim === undefined ? '' : num(r.ssim, 4),
  ];
}

/** Text blocks and tables in the order the experiment recorded them (1.4, 1.5 table, 1.6...). */
export function sections(e: ExperimentResult): (TextBlock | Table)[] {
  const out: (TextBlock | Table)[] = [];
  const after = (t: Table) => t.afterBlock ?? e.blocks.length;
  e.blocks.forEach((b, i) => {
    out.push(...e.tables.filter((t) => after(t) === i), b);
  });
  out.push(...e.tables.filter((t) => after(t) >= e.blocks.length));
  return out;
}

const HEADLINE_NOTE =
  'Test accuracies with their 95 % interval from the test-set size; the Conclusions at the end say which differences are beyond the noise. ' +
  'Train accuracy is the running figure over the last epoch\'s batches: it describes the training set, not a sample of anything, so it carries no interval.';
const CONCLUSION_COLUMNS = ['#', 'question', 'verdict', 'evidence from this run'];
const conclusionCells = (c: Conclusion) => [String(c.experiment), c.question, c.verdict, c.evidence];

function status(e: ExperimentResult): string {
  if (e.status === 'skipped') return `skipped: ${e.reason}. To enable: \`${e.enable}\``;
  if (e.status === 'failed') return `failed: ${e.error}`;
  return `done in ${duration(e.seconds)}`;
}

function runLine(r: LabReport): string {
  const end = r.complete ? `finished ${r.finishedAt}, ${duration(r.seconds)} in all` : `INCOMPLETE (interrupted or still running; ${duration(r.seconds)} so far): resume with \`${r.resumeCommand}\``;
  return `Preset **${r.preset}**, started ${r.startedAt}, ${end}.`;
}

function deviceLine(r: LabReport): string {
  const d = r.device;
  const m = r.machine;
  return `Device: **${deviceLabel(d)}**${d.fallbackReason ? `; WebGPU unavailable: ${d.fallbackReason}` : ''}. Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node} on ${m.platform}.`;
}

// ---------------------------------------------------------------------------------- markdown

const mdEscape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function mdTable(columns: string[], rows: (string | number | null)[][]): string {
  const cell = (c: string | number | null) => mdEscape(c === null ? '–' : String(c));
  return [`| ${columns.map(cell).join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

function markdown(r: LabReport): string {
  const out: string[] = [`# ${r.title}`, '', runLine(r), '', deviceLine(r), '', `Command: \`${r.command}\``, '', '## Data used', ''];
  out.push(r.data.length ? mdTable(['data set', 'path', 'found via'], r.data.map((d) => [d.name, d.path, d.source])) : 'No data set was found.');
  for (const m of r.missing) out.push('', `- ${m.name}: not found. To enable: \`${m.enable}\``);
  out.push('', '## Headline', '');
  const rows = r.experiments.flatMap((e) => e.headline.map((h) => headlineCells(h, e.number)));
  out.push(rows.length ? `${mdTable(HEADLINE_COLUMNS, rows)}\n\n*${HEADLINE_NOTE}*` : 'No experiment has finished yet.');
  for (const e of r.experiments) {
    out.push('', `## ${e.number}. ${e.title}`, '', `*${status(e)}*`);
    if (e.settings.length) out.push('', '### Settings', '', mdTable(['setting', 'value'], e.settings.map(([k, v]) => [k, v])));
    for (const s of sections(e)) {
      if ('text' in s) out.push('', `### ${s.title}`, '', '```text', s.text, '```');
      else out.push('', `### ${s.title}`, '', mdTable(s.columns, s.rows), ...(s.note ? ['', `*${s.note}*`] : []));
    }
    for (const f of e.figures) out.push('', `![${f.title}](${f.png})`, ...(f.caption ? ['', `*${f.caption}*`] : []));
    if (e.analysis.length) out.push('', '### Analysis', '', ...e.analysis.flatMap((p) => [p, '']));
  }
  if (r.conclusions?.length) out.push('', '## Conclusions', '', RULE_TEXT, '', mdTable(CONCLUSION_COLUMNS, r.conclusions.map(conclusionCells)));
  return `${out.join('\n').trimEnd()}\n`;
}

// -------------------------------------------------------------------------------------- html

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `code` spans and **bold** in the report's prose, nothing more. */
const inline = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>');

function htmlTable(columns: string[], rows: (string | number | null)[][], cls = ''): string {
  const numeric = (c: string | number | null) => typeof c === 'number' || (typeof c === 'string' && /^-?[\d.,]+( %| s)?( \[[\d., ]+\])?$/.test(c));
  const cell = (c: string | number | null, tag: string, i: number) =>
    `<${tag}${tag === 'td' && i > 0 && numeric(c) ? ' class="n"' : ''}>${inline(c === null ? '–' : String(c))}</${tag}>`;
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${columns.map((c, i) => cell(c, 'th', i)).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => cell(c, 'td', i)).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** Each chart as its own SVG document in an <img>: inlined SVGs would share (and clash on) clip-path ids. */
function embed(dir: string, file: string, mime: string): string | null {
  const path = join(dir, file);
  // Only files of the report itself: readReport refuses other paths, this keeps any that slip by out.
  if (!existsSync(path) || outsideProblem(dir, file)) return null;
  return `data:${mime};base64,${readFileSync(path).toString('base64')}`;
}

function figureHtml(dir: string, f: ExperimentResult['figures'][number]): string {
  const src = (f.svg && embed(dir, f.svg, 'image/svg+xml')) || embed(dir, f.png, 'image/png');
  if (!src) return `<p class="missing">figure ${esc(f.png)} is missing</p>`;
  return `<figure><img src="${src}" alt="${esc(f.title)}"><figcaption>${inline(f.caption ?? f.title)} <a href="${esc(f.png)}">PNG</a></figcaption></figure>`;
}

function tableHtml(t: Table): string {
  return `<h3>${inline(t.title)}</h3>${htmlTable(t.columns, t.rows)}${t.note ? `<p class="note">${inline(t.note)}</p>` : ''}`;
}

function experimentHtml(dir: string, e: ExperimentResult): string {
  const parts = [`<section id="e${e.number}"><h2>${e.number}. ${inline(e.title)}</h2><p class="status ${e.status}">${inline(status(e))}</p>`];
  if (e.settings.length) parts.push(`<details open><summary>Settings</summary>${htmlTable(['setting', 'value'], e.settings.map(([k, v]) => [k, v]), 'settings')}</details>`);
  for (const s of sections(e)) parts.push('text' in s ? `<h3>${inline(s.title)}</h3><pre>${esc(s.text)}</pre>` : tableHtml(s));
  if (e.figures.length) parts.push(`<div class="figures">${e.figures.map((f) => figureHtml(dir, f)).join('')}</div>`);
  if (e.analysis.length) parts.push(`<h3>Analysis</h3>${e.analysis.map((p) => `<p>${inline(p)}</p>`).join('')}`);
  parts.push('</section>');
  return parts.join('\n');
}

function conclusionsHtml(cs: Conclusion[]): string {
  const row = (c: Conclusion) =>
    `<tr><td class="n">${c.experiment}</td><td>${inline(c.question)}</td><td class="verdict ${c.verdict.replace(' ', '-')}">${c.verdict}</td><td>${inline(c.evidence)}</td></tr>`;
  return `<section id="conclusions"><h2>Conclusions</h2><p>${inline(RULE_TEXT)}</p><table class="conclusions"><thead><tr>${CONCLUSION_COLUMNS.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${cs.map(row).join('')}</tbody></table></section>`;
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:1180px;margin:0 auto;padding:1.5em}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #e4e4e4;padding-bottom:.2em;margin-top:2em}h3{margin:1.2em 0 .4em;font-size:1.05em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}table.settings td:first-child{white-space:nowrap;color:#555}
pre{background:#f7f7f5;border:1px solid #e6e6e0;padding:.6em .8em;overflow:auto;font-size:12.5px;line-height:1.35}
code{background:#f3f3f0;padding:0 .25em;border-radius:3px}
.figures{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0;max-width:100%}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:12.5px;color:#555}nav a{margin-right:.8em;white-space:nowrap}
.status.skipped{color:#8a6d00}.status.failed{color:#b00020}.status.done{color:#2d6a2d}.incomplete{background:#fff4d6;padding:.5em .8em;border-left:4px solid #e0a800}
.note{font-size:12.5px;color:#555}.missing{color:#b00020}
table.conclusions td:nth-child(2){min-width:16em}td.verdict{white-space:nowrap;font-weight:600}
td.supported{color:#2d6a2d;background:#eef7ee}td.not-supported{color:#b00020;background:#fdeeee}td.undecided{color:#8a6d00;background:#fff8e1}td.not-run{color:#666;background:#f3f3f3}
`;

function html(dir: string, r: LabReport): string {
  const rows = r.experiments.flatMap((e) => e.headline.map((h) => headlineCells(h, e.number)));
  const nav = [...r.experiments.map((e) => `<a href="#e${e.number}">${e.number}. ${esc(e.title)}</a>`), ...(r.conclusions?.length ? ['<a href="#conclusions">Conclusions</a>'] : [])].join(' ');
  const missing = r.missing.map((m) => `<li>${esc(m.name)}: not found. To enable: <code>${esc(m.enable)}</code></li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(r.title)}</title><style>${CSS}</style></head><body>
<h1>${esc(r.title)}</h1>
<p${r.complete ? '' : ' class="incomplete"'}>${inline(runLine(r))}</p>
<p>${inline(deviceLine(r))}</p>
<p>Command: <code>${esc(r.command)}</code></p>
<nav>${nav}</nav>
<h2>Data used</h2>
${r.data.length ? htmlTable(['data set', 'path', 'found via'], r.data.map((d) => [d.name, d.path, d.source])) : '<p>No data set was found.</p>'}
${missing ? `<ul>${missing}</ul>` : ''}
<h2>Headline</h2>
${rows.length ? `${htmlTable(HEADLINE_COLUMNS, rows, 'headline')}<p class="note">${inline(HEADLINE_NOTE)}</p>` : '<p>No experiment has finished yet.</p>'}
${r.experiments.map((e) => experimentHtml(dir, e)).join('\n')}
${r.conclusions?.length ? conclusionsHtml(r.conclusions) : ''}
</body></html>
`;
}
