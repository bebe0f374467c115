import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';

describe('nightly and admin configuration', () => {
  it('when nothing is set, then the run is scheduled at 02:00 UTC with the documented defaults and the admin endpoints are off', () => {
    const config = loadConfig({});
    expect(config.nightly).toMatchObject({ enabled: true, cron: '0 0 2 * * *', tz: 'UTC', chunkSize: 500_000, apiReserve: 5_000, pollMaxMs: 30_000, ingestMaxBytes: 100_000_000, reasons: true });
    expect(config.admin).toBeUndefined();
    expect(Object.isFrozen(config.nightly)).toBe(true);
  });

  it('when values are set, then they are parsed into numbers and booleans', () => {
    const config = loadConfig({ NIGHTLY_CRON: '30 3 * * *', NIGHTLY_TZ: 'Europe/Paris', NIGHTLY_CHUNK_SIZE: '250000', NIGHTLY_REASONS: 'false', NIGHTLY_ENABLED: 'false', ADMIN_USER: 'ops', ADMIN_PASSWORD: 'a long enough secret' });
    expect(config.nightly).toMatchObject({ cron: '30 3 * * *', tz: 'Europe/Paris', chunkSize: 250_000, reasons: false, enabled: false });
    expect(config.admin).toEqual({ user: 'ops', password: 'a long enough secret' });
  });

  it('when NIGHTLY_INGEST_MAX_BYTES is exactly 100 MB raw, then it is accepted', () => {
    expect(loadConfig({ NIGHTLY_INGEST_MAX_BYTES: '100000000' }).nightly.ingestMaxBytes).toBe(100_000_000);
  });

  it.each([
    [{ NIGHTLY_TZ: 'Mars/Olympus' }, /NIGHTLY_TZ/],
    [{ NIGHTLY_CRON: 'every night' }, /NIGHTLY_CRON/],
    [{ NIGHTLY_INGEST_MAX_BYTES: '200000000' }, /NIGHTLY_INGEST_MAX_BYTES.*at most 100000000.*after base64/],
    [{ NIGHTLY_INGEST_MAX_BYTES: '120000000' }, /NIGHTLY_INGEST_MAX_BYTES.*at most 100000000/],
    [{ ADMIN_USER: 'ops' }, /ADMIN_PASSWORD/],
    [{ ADMIN_USER: 'ops', ADMIN_PASSWORD: 'short' }, /ADMIN_PASSWORD/],
  ])('when %j, then the error names the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
