import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, isAppError } from '../../src/core/errors.js';

describe('the error registry', () => {
  it('every code has a sentence that says what it means', () => {
    for (const [code, text] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
      expect(text.length, code).toBeGreaterThan(15);
      expect(text.trim().endsWith('.'), code).toBe(true);
    }
  });

  it('every code the source raises is in the registry', () => {
    const src = fileURLToPath(new URL('../../src', import.meta.url));
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(src, f), 'utf8'));
    const used = new Set<string>();
    for (const source of files) for (const m of source.matchAll(/code: '([A-Z_]+)'/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(5);
    const known = new Set(Object.keys(ERROR_CODES));
    // Codes that name a Salesforce or HTTP answer rather than ours are not AppError codes.
    const foreign = [...used].filter((c) => !known.has(c) && !/^(INVALID_REQUEST|UNAUTHORIZED|NOT_CONFIGURED|TOO_LARGE|NOT_FOUND|UNSUPPORTED_MEDIA_TYPE|RATE_LIMITED|INTERNAL|[A-Z_]+_EXCEPTION)$/.test(c));
    expect(foreign).toEqual([]);
  });

  it('every code in the registry is raised somewhere (no dead entries)', () => {
    const src = fileURLToPath(new URL('../../src', import.meta.url));
    const sources = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith(join('core', 'errors.ts')))
      .map((f) => readFileSync(join(src, f), 'utf8'))
      .join('\n');
    expect(Object.keys(ERROR_CODES).filter((code) => !sources.includes(`'${code}'`))).toEqual([]);
  });

  it('when built from options, then the message carries the hint and the flags are kept', () => {
    const error = new AppError({ code: 'SF_UNAVAILABLE', message: 'Salesforce is down.', hint: 'Try later.', retryable: true, details: { status: 503 } });
    expect(error.message).toBe('Salesforce is down. Try later.');
    expect(error.retryable).toBe(true);
    expect(isAppError(error, 'SF_UNAVAILABLE')).toBe(true);
    expect(isAppError(error, 'SF_API_ERROR')).toBe(false);
    expect(new AppError({ code: 'SF_API_ERROR', message: 'x' }).retryable).toBe(false);
  });
});
