/**
 * An error written for the reader who has to act on it (an agent or a person):
 * what happened, and what to do next. `code` is stable and machine-readable.
 */
export class ScxError extends Error {
  constructor(
    readonly code: ScxErrorCode,
    message: string,
    readonly hint?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ScxError';
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

export type ScxErrorCode =
  | 'TOOL_MISSING'
  | 'KERNEL_UNAVAILABLE'
  | 'KERNEL_CACHE_CORRUPT'
  | 'OBJECT_MISSING'
  | 'OBJECT_INVALID'
  | 'COMPILE_FAILED'
  | 'VM_BOOT_FAILED'
  | 'VM_TIMEOUT'
  | 'VM_CRASHED'
  | 'BAD_INPUT';

export function isScxError(e: unknown): e is ScxError {
  return e instanceof ScxError;
}
