// An error the emulator answers with, in the Gorgias shape {"error": {"msg", "data"?}}.
import type { ErrorBody } from '../gorgias/types.js';
import { ERROR_MESSAGES } from './guesses.js';

export type FieldErrors = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly data?: FieldErrors,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return { error: this.data ? { msg: this.message, data: this.data } : { msg: this.message } };
  }
}

export function notFound(): ApiError {
  return new ApiError(404, ERROR_MESSAGES.notFound);
}

export function invalid(data: FieldErrors): ApiError {
  return new ApiError(400, ERROR_MESSAGES.validation, data);
}
