import { isAppError } from '../core/errors.js';

/** One readable paragraph for an error that ends a command: code, message and what to do. */
export function formatFatal(error: unknown): string {
  if (isAppError(error)) return `churn-worker: [${error.code}] ${error.message}`;
  if (error instanceof Error) return `churn-worker: ${error.stack ?? error.message}`;
  return `churn-worker: ${String(error)}`;
}
