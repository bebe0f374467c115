import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { createLogger } from '../../src/log/logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

describe('logging errors', () => {
  it('when an AppError with a cause is logged as { err }, then the line carries its code, stack and the cause', () => {
    const { logger, lines } = capture();
    const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const error = new AppError({ code: 'SF_UNAVAILABLE', message: 'Read Bulk query results: Salesforce could not be reached.', retryable: true, cause });
    logger.error({ err: error }, 'chunk failed');
    const err = lines[0]!.err as Record<string, unknown>;
    expect(err).toMatchObject({ type: 'AppError', code: 'SF_UNAVAILABLE', retryable: true, message: expect.stringContaining('could not be reached') });
    expect(String(err.stack)).toMatch(/AppError: Read Bulk query results[\s\S]*errors\.test\.ts/);
    expect(err.cause).toMatchObject({ type: 'Error', message: 'socket hang up', code: 'ECONNRESET' });
  });
});
