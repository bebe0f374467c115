/** Salesforce's REST error shape: a JSON array of `{message, errorCode}` (errorcodes.htm). */
import type { Response } from 'express';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function sendApiError(res: Response, status: number, errorCode: string, message: string): void {
  res.status(status).json([{ message, errorCode }]);
}

export const NOT_FOUND_MESSAGE = 'The requested resource does not exist';

export function notFound(res: Response): void {
  res.status(404).json([{ errorCode: 'NOT_FOUND', message: NOT_FOUND_MESSAGE }]);
}
