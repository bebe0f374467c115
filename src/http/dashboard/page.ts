/** The admin status page, rendered on the server as one HTML document (inline CSS and SVG only). */
import type { RecordedFailure } from '../../queue/failures.js';
import type { ApiUsageSnapshot } from '../../observability/status-store.js';
import { barChart, escapeHtml as e } from './chart.js';

export interface RunSummary {
  id: string;
  state: string;
  trigger?: string;
  startedAt?: string;
  endedAt?: string;
  total?: number;
  chunksDone?: number;
  chunksTotal?: number;
  apiCalls?: number;
  message?: string;
  counts?: Readonly<Record<string, number>>;
}

export interface StatusView {
  lastRun?: RunSummary;
  /** The last runs from the system of record, newest first (absent without one). */
  recentRuns?: readonly RunSummary[];
  /** Nightly status is not wired (no run store): say so rather than "no run yet". */
  nightlyAvailable: boolean;
  bands: Readonly<Record<string, number>>;
  bandDays: number;
  apiUsage?: ApiUsageSnapshot;
  failures: readonly RecordedFailure[];
  failuresTotal: number;
  /** Changes for Accounts that no longer exist (or never did), kept apart from real failures. */
  notFoundTotal: number;
  queues: ReadonlyArray<{ name: string; counts: Readonly<Record<string, number>> }>;
  csrf: string;
  notice?: string;
  queuesPath: string;
  retryPath: string;
}

const BAND_COLORS: Record<string, string> = { High: '#c0392b', Medium: '#e6a23c', Low: '#2e8b57' };
const BAND_ORDER = ['High', 'Medium', 'Low'];

function runSection(view: StatusView): string {
  if (!view.nightlyAvailable) return '<p id="nightly-none">Nightly runs are not recorded by this deployment.</p>';
  const run = view.lastRun;
  if (!run) return '<p id="nightly-none">No run yet.</p>';
  const counts = run.counts ? Object.entries(run.counts).map(([k, v]) => `${e(k)} ${v}`).join(', ') : '';
  const rows: Array<[string, string | number | undefined]> = [
    ['Run', run.id],
    ['State', run.state],
    ['Trigger', run.trigger],
    ['Started', run.startedAt],
    ['Ended', run.endedAt],
    ['Records', run.total],
    ['Chunks', run.chunksTotal !== undefined ? `${run.chunksDone ?? 0} / ${run.chunksTotal}` : run.chunksDone],
    ['API calls', run.apiCalls],
    ['Counts', counts],
    ['Message', run.message],
  ];
  return `<table id="nightly">${rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `<tr><th>${k}</th><td>${e(String(v))}</td></tr>`).join('')}</table>`;
}

function recentRunsSection(runs: readonly RunSummary[] | undefined): string {
  if (!runs) return '';
  if (runs.length === 0) return '<h2>Recent runs</h2><p id="runs-none">No run recorded yet.</p>';
  const counts = (r: RunSummary) => (r.counts ? `${r.counts.written ?? 0} written, ${r.counts.unchanged ?? 0} unchanged, ${r.counts.failed ?? 0} failed` : '');
  const rows = runs.map((r) => `<tr class="run"><td>${e(r.id)}</td><td>${e(r.state)}</td><td>${e(r.trigger ?? '')}</td><td>${e(r.startedAt ?? '')}</td><td>${e(r.endedAt ?? '')}</td><td>${e(String(r.total ?? ''))}</td><td>${e(counts(r))}</td><td>${e(String(r.apiCalls ?? ''))}</td></tr>`).join('');
  return `<h2>Recent runs</h2><table id="runs"><thead><tr><th>Run</th><th>State</th><th>Trigger</th><th>Started</th><th>Ended</th><th>Records</th><th>Counts</th><th>API calls</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function apiSection(usage: ApiUsageSnapshot | undefined): string {
  if (!usage) return '<p id="api-usage">No Salesforce response seen yet.</p>';
  const pct = usage.limit > 0 ? (100 * usage.used) / usage.limit : 0;
  return (
    `<p id="api-usage"><strong>${usage.used.toLocaleString('en-US')}</strong> of ${usage.limit.toLocaleString('en-US')} daily API requests used ` +
    `(${pct.toFixed(1)}%), ${Math.max(0, usage.limit - usage.used).toLocaleString('en-US')} left, as of ${e(usage.at)}.</p>` +
    `<div class="meter"><div style="width:${Math.min(100, pct).toFixed(1)}%"></div></div>`
  );
}

function notFoundLine(view: StatusView): string {
  if (view.notFoundTotal === 0) return '';
  return `<p id="not-found">${view.notFoundTotal.toLocaleString('en-US')} change(s) named Accounts that do not exist (deleted since, not visible to the integration user, or sent by someone else); counted apart, not listed here.</p>`;
}

function failureSection(view: StatusView): string {
  if (view.failures.length === 0) return `<p id="failures-none">No failed records.</p>${notFoundLine(view)}`;
  const rows = view.failures
    .map(
      (f) =>
        `<tr class="failure"><td><input type="checkbox" name="ids" value="${e(f.id)}" checked aria-label="retry ${e(f.id)}"></td>` +
        `<td class="id">${e(f.id)}</td><td>${e(f.code)}</td><td>${e(f.message)}</td><td>${e(f.source)}</td><td>${e(f.at)}</td></tr>`,
    )
    .join('');
  return (
    `<form method="post" action="${e(view.retryPath)}" id="retry-form">` +
    `<input type="hidden" name="csrf" value="${e(view.csrf)}">` +
    `<p>${view.failuresTotal} recorded in all; the newest ${view.failures.length} below. ` +
    `<button type="submit" id="retry">Retry selected</button></p>` +
    `<table id="failures"><thead><tr><th></th><th>Account</th><th>Code</th><th>Message</th><th>Path</th><th>When</th></tr></thead><tbody>${rows}</tbody></table></form>` +
    notFoundLine(view)
  );
}

export function renderStatusPage(view: StatusView): string {
  const bands = [...BAND_ORDER, ...Object.keys(view.bands).filter((b) => !BAND_ORDER.includes(b))].map((label) => ({
    label,
    value: view.bands[label] ?? 0,
    color: BAND_COLORS[label] ?? '#607d8b',
  }));
  const queues = view.queues
    .map((q) => `<tr><th>${e(q.name)}</th>${['waiting', 'active', 'delayed', 'failed'].map((s) => `<td>${q.counts[s] ?? 0}</td>`).join('')}</tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>churn-worker admin</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:72rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse}th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.meter{width:24rem;height:.8rem;background:#eee}.meter div{height:100%;background:#3b6fb6}
.notice{background:#eef6ee;border:1px solid #8c8;padding:.5rem 1rem}
</style></head><body>
<h1>churn-worker</h1>
${view.notice ? `<p class="notice" id="notice">${e(view.notice)}</p>` : ''}
<p><a href="${e(view.queuesPath)}">Queues (Bull Board)</a> · <a href="/admin/models">Models (registry, promotions)</a></p>
<h2>Last nightly run</h2>
${runSection(view)}
${recentRunsSection(view.recentRuns)}
<h2>Risk bands of records written, last ${view.bandDays} days</h2>
${barChart(bands, { title: 'Records written per risk band' })}
<h2>Salesforce API allowance</h2>
${apiSection(view.apiUsage)}
<h2>Queues</h2>
<table id="queues"><thead><tr><th></th><th>waiting</th><th>active</th><th>delayed</th><th>failed</th></tr></thead><tbody>${queues}</tbody></table>
<h2>Recent permanent failures</h2>
${failureSection(view)}
</body></html>`;
}
