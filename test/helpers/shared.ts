/**
 * Material from ../shared (beside the checkout): read it when it is there, skip with a clear message
 * when it is not (a user's clone has no ../shared).
 */
import { existsSync, readFileSync } from 'node:fs';
import { ROOT } from './process.js';

export const SHARED = `${ROOT}../shared/`;

export function sharedPath(relative: string): string | undefined {
  const path = SHARED + relative;
  if (existsSync(path)) return path;
  console.warn(`skipping: ${relative} is not available (../shared is not beside this checkout)`);
  return undefined;
}

export function readShared(relative: string): string | undefined {
  const path = sharedPath(relative);
  return path ? readFileSync(path, 'utf8') : undefined;
}

/** A fixture the project writes itself (test/fixtures/…), always present. */
export function readFixture(relative: string): string {
  return readFileSync(`${ROOT}test/fixtures/${relative}`, 'utf8');
}
