// Request validation with the wire contract's zod schemas; failures are PLX_BROKER_VALIDATION.
import type { z } from 'zod';
import { validationError } from './error-handler.ts';

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error);
  return r.data;
}
