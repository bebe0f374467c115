#!/usr/bin/env node
// Per-module mutation scores from Stryker's JSON report, and a failing exit when any configured
// module is below the threshold. Stryker's own `break` threshold looks at the score of all modules
// together, where a well-tested module can hide a poorly tested one; this checks each.
//   node scripts/mutation-score.mjs [report.json] [threshold]
import { readFileSync } from 'node:fs';

const reportPath = process.argv[2] ?? 'reports/mutation/mutation.json';
const threshold = Number(process.argv[3] ?? 85);
const report = JSON.parse(readFileSync(reportPath, 'utf8'));

// Stryker's definition: detected (killed, timed out) over valid mutants (detected, survived, not covered).
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

let failed = 0;
const rows = Object.entries(report.files)
  .map(([file, { mutants }]) => {
    const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
    const valid = detected + mutants.filter((m) => UNDETECTED.has(m.status)).length;
    const survived = mutants.filter((m) => m.status === 'Survived').length;
    const noCoverage = mutants.filter((m) => m.status === 'NoCoverage').length;
    const score = valid === 0 ? 100 : (100 * detected) / valid;
    return { file, score, detected, valid, survived, noCoverage };
  })
  .sort((a, b) => a.file.localeCompare(b.file));

for (const r of rows) {
  const ok = r.score >= threshold;
  if (!ok) failed += 1;
  console.log(`${ok ? 'ok  ' : 'LOW '} ${r.score.toFixed(2).padStart(6)} %  ${r.file}  (${r.detected}/${r.valid} detected, ${r.survived} survived, ${r.noCoverage} not covered)`);
}
if (failed > 0) {
  console.error(`${failed} module(s) below the ${threshold} % mutation score`);
  process.exit(1);
}
console.log(`every module at or above ${threshold} %`);
