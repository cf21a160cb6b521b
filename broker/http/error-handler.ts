// One place that turns any failure into the API's error body with a stable code. Fastify's
// own errors (body limit, content type, JSON syntax) are mapped onto the catalogue so
// clients never see a framework-specific code.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import type { ApiErrorBody, BrokerErrorCode } from '../api/errors.ts';
import { BrokerError, isBrokerError } from '../errors.ts';

const fastifyCodes: Record<string, BrokerErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PLX_BROKER_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'PLX_BROKER_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'PLX_BROKER_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'PLX_BROKER_BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'PLX_BROKER_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'PLX_BROKER_BAD_REQUEST',
};

export function validationError(e: ZodError): BrokerError {
  const details = e.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const summary = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ');
  return new BrokerError('PLX_BROKER_VALIDATION', `invalid request: ${summary}`, { details });
}

/** Any thrown value → a BrokerError carrying an API code. */
export function toBrokerError(err: unknown): BrokerError {
  if (isBrokerError(err)) return err;
  if (err instanceof ZodError) return validationError(err);
  const fe = err as Partial<FastifyError>;
  const mapped = fe.code ? fastifyCodes[fe.code] : undefined;
  if (mapped) return new BrokerError(mapped, fe.message ?? mapped, { cause: err });
  if (err instanceof SyntaxError || (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500)) {
    return new BrokerError('PLX_BROKER_BAD_REQUEST', `bad request: ${fe.message ?? 'unreadable body'}`, { cause: err });
  }
  return new BrokerError('PLX_BROKER_INTERNAL', 'internal error', { cause: err });
}

function send(reply: FastifyReply, e: BrokerError): FastifyReply {
  const body: ApiErrorBody = { error: { code: e.code as BrokerErrorCode, message: e.message } };
  if (e.details !== undefined) body.error.details = e.details;
  return reply.code(e.statusCode).type('application/json').send(body);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const e = toBrokerError(err);
    if (e.statusCode >= 500) request.log.error({ err: e.cause ?? e, code: e.code }, 'request failed');
    else request.log.info({ code: e.code }, 'request rejected');
    // A local (CLI) code must never leave the process: report it as internal.
    const wire = e.statusCode === 500 && e.code !== 'PLX_BROKER_INTERNAL' ? new BrokerError('PLX_BROKER_INTERNAL', 'internal error') : e;
    return send(reply, wire);
  });
  app.setNotFoundHandler((request, reply) => send(reply, new BrokerError('PLX_BROKER_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)));
}
