/** `churn-worker bench nightly` end to end on a small org: the emulator, a worker process, real Redis. */
import { describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../helpers/database.js';
import { cleanEnv, runToEnd } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('churn-worker bench nightly', () => {
  it('when run on a small org, then its last line is one JSON object with the figures the issue names, and every Account ends scored', async () => {
    const { code, output } = await runToEnd(['bench', 'nightly', '--accounts', '3000', '--chunk-size', '1000', '--workers', '2'], cleanEnv({ REDIS_URL }));
    expect(code, output).toBe(0);
    const last = output.trim().split('\n').at(-1)!;
    const figures = JSON.parse(last) as Record<string, unknown>;
    expect(figures).toMatchObject({ accounts: 3000, workers: 2, runState: 'completed', allScored: true, chunks: 3 });
    for (const key of ['seconds', 'apiCalls', 'peakRssMb', 'floorSeconds', 'emulatorCpuSeconds', 'floorCpuSeconds']) expect(typeof figures[key], key).toBe('number');
    expect(figures.workerPeakRssMb).toHaveLength(2);
    const cpu = figures.workerCpuSeconds as number[];
    expect(cpu.every((s) => typeof s === 'number' && s >= 0) && cpu.some((s) => s > 0)).toBe(true);
    expect(figures.counts).toMatchObject({ read: 3000, written: 3000, failed: 0 });
  }, 120_000);

  it('when asked to compare history off and on, then both runs are timed, the second appends one history row per written score, and the ratio is reported', async () => {
    const { code, output } = await runToEnd(['bench', 'nightly', '--accounts', '2000', '--history', 'compare', '--no-floor'], cleanEnv({ REDIS_URL, DATABASE_URL: TEST_DATABASE_URL, DATABASE_TLS: 'off' }));
    expect(code, output).toBe(0);
    const figures = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown> & { historyOff: Record<string, unknown> };
    expect(figures).toMatchObject({ configuration: 'history on', history: true, historyRows: 2000, runRecords: 1, counts: { written: 2000 } });
    expect(figures.historyOff).toMatchObject({ configuration: 'history off', counts: { written: 2000 } });
    expect(figures.historyOff.historyRows).toBeUndefined();
    expect(figures.secondsRatioToHistoryOff).toBeCloseTo((figures.seconds as number) / (figures.historyOff.seconds as number), 1);
    expect(output).toMatch(/history off: [\d.]+ s; history on: [\d.]+ s \(ratio [\d.]+\)/);
  }, 180_000);

  it('when asked to compare monitoring off and on, then both runs are timed, only the second reports the run\'s drift, and the ratio is reported', async () => {
    const { code, output } = await runToEnd(['bench', 'nightly', '--accounts', '2000', '--monitoring', 'compare', '--no-floor'], cleanEnv({ REDIS_URL }));
    expect(code, output).toBe(0);
    const figures = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown> & { monitoringOff: Record<string, unknown>; drift: { rows: number; alerts: string[] } };
    expect(figures).toMatchObject({ configuration: 'monitoring on', monitoring: true, counts: { written: 2000 } });
    expect(figures.drift.rows).toBe(2000);
    expect(figures.monitoringOff).toMatchObject({ configuration: 'monitoring off', monitoring: false, counts: { written: 2000 } });
    expect(figures.monitoringOff.drift).toBeUndefined();
    expect(figures.secondsRatioToMonitoringOff).toBeCloseTo((figures.seconds as number) / (figures.monitoringOff.seconds as number), 1);
    expect(output).toMatch(/monitoring off: [\d.]+ s; monitoring on: [\d.]+ s \(ratio [\d.]+\)/);
  }, 180_000);

  it('when asked for a shadow without a database, then it says DATABASE_URL is needed and runs nothing', async () => {
    const { code, output } = await runToEnd(['bench', 'nightly', '--accounts', '100', '--shadow', 'on'], cleanEnv({ REDIS_URL }));
    expect(code).not.toBe(0);
    expect(output).toMatch(/needs DATABASE_URL/);
  }, 60_000);
});
