import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import FindMyWay from 'find-my-way';
import { DomainError, ERROR_CATALOGUE, type ErrorCode, type ErrorKind } from '../../domain/errors.js';
import { type Problem, problem, sendProblem } from '../problem.js';
import { cardSafeUrl } from './cardScreen.js';
import { applyResponseHeaders, rawResponseHeaders } from './headers.js';

const KIND_STATUS = {
  not_found: 404,
  conflict: 409,
  rule: 422,
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  unavailable: 503,
} as const satisfies Record<ErrorKind, number>;

/** Errors thrown by fastify itself or its plugins, mapped to stable codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string; title: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', title: 'Request body too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    title: 'Unsupported media type',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'malformed_request', title: 'Invalid Content-Length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'malformed_body', title: 'Empty JSON body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'malformed_body', title: 'Malformed JSON body' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'malformed_request', title: 'Malformed request' },
};

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

function validationErrors(part: string, issues: ValidationIssue[]) {
  return issues.map((v) => {
    let field = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const extra = (v.params.missingProperty ?? v.params.additionalProperty) as string | undefined;
    if (extra) field = field ? `${field}.${extra}` : extra;
    const message = v.keyword === 'additionalProperties' ? 'is not allowed' : (v.message ?? 'is invalid');
    return { field: field ? `${part}.${field}` : part, message };
  });
}

/** A DomainError as the problem it answers with (also used to store refusals for idempotent replay). */
export function domainProblem(err: unknown): Problem | null {
  if (!(err instanceof DomainError)) return null;
  return problem(KIND_STATUS[err.kind], err.code, err.title, err.message, err.extra);
}

/**
 * Router limits. A path parameter is bounded by the request line (Node refuses headers over 16 KiB),
 * not by the router: an over-long id reaches authentication (401 without a key) and then the route's
 * own parameter schema (400) or lookup (404), instead of a router 414 that skips both.
 */
export const ROUTER_OPTIONS = { maxParamLength: 16_384 } as const;

/** Storage failures are told apart by the store (it knows its driver's codes), never by HTTP. */
export interface ErrorsOptions {
  classifyStorageError: (err: { code?: string; message?: string }) => 'timeout' | 'unavailable' | null;
}

/**
 * A second router that knows every (method, path), so an unknown method on a known path is 405 with
 * `Allow`; anything else unrouted is 404.
 */
function notFoundHandler(app: FastifyInstance) {
  const known = FindMyWay(ROUTER_OPTIONS);
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const set = methodsByPath.get(route.url) ?? new Set<string>();
    for (const m of methods) set.add(m);
    if (!methodsByPath.has(route.url)) {
      methodsByPath.set(route.url, set);
      known.on('GET', route.url, () => {}, { path: route.url });
    }
  });

  return (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    const shown = cardSafeUrl(path);
    const found = known.find('GET', path);
    const routePath = (found?.store as { path?: string } | undefined)?.path;
    const methods = routePath ? (methodsByPath.get(routePath) ?? new Set<string>()) : undefined;
    // A route that exists for this method and still calls for a 404 (a missing docs asset) is a 404.
    if (methods && !methods.has(request.method)) {
      const allowed = [...methods].filter((m) => m !== 'HEAD');
      reply.header('allow', allowed.join(', '));
      return sendProblem(
        reply,
        problem(
          405,
          'method_not_allowed',
          'Method not allowed',
          `${request.method} is not allowed on ${shown}; use ${allowed.join(', ')}.`,
        ),
      );
    }
    return sendProblem(reply, problem(404, 'not_found', 'Not found', `No resource at ${shown}.`));
  };
}

/** The problem for an error the caller caused or may retry at once (4xx, 503); null for a server failure. */
function requestProblem(error: FastifyError & { validationContext?: string }): Problem | null {
  const refused = domainProblem(error);
  if (refused) return refused;
  if (error.validation) {
    const part = error.validationContext ?? 'body';
    return problem(400, 'validation_failed', 'Request validation failed', error.message, {
      errors: validationErrors(part, error.validation as ValidationIssue[]),
    });
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) return problem(mapped.status, mapped.code, mapped.title, error.message);
  const status = error.statusCode ?? 500;
  if (status === 429) return problem(429, 'rate_limited', 'Too many requests', error.message);
  if (status === 503) return problem(503, 'service_unavailable', 'Service unavailable', 'Try again shortly.');
  if (status >= 400 && status < 500) return problem(status, 'bad_request', 'Bad request', error.message);
  return null;
}

/** 5xx: log what we know (never pg's `detail`, which can carry row values) and hide it from the caller. */
function serverProblem(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  classify: ErrorsOptions['classifyStorageError'],
): Problem {
  const pgLike = error as FastifyError & { code?: string; routine?: string };
  request.log.error(
    { err: { type: error.name, message: error.message, code: pgLike.code, stack: error.stack } },
    'unhandled error',
  );
  const storage = classify(pgLike);
  if (storage === 'timeout') {
    // The transaction was rolled back (or, for a client timeout, its session closed): nothing of
    // the request was written, so the same request can be sent again.
    reply.header('retry-after', '2');
    return problem(
      503,
      'database_timeout' satisfies ErrorCode,
      ERROR_CATALOGUE.database_timeout.title,
      'The database did not answer in time (busy or locked); retry shortly.',
    );
  }
  if (storage === 'unavailable') {
    reply.header('retry-after', '5');
    return problem(503, 'database_unavailable', 'Service unavailable', 'The database is unavailable; retry shortly.');
  }
  return problem(
    500,
    'internal_error',
    'Internal server error',
    'An unexpected error occurred. Quote the requestId when reporting it.',
  );
}

/** Every error a route can end in answers problem+json with a stable code. */
async function errorsPlugin(app: FastifyInstance, opts: ErrorsOptions) {
  app.setNotFoundHandler(notFoundHandler(app));
  app.setErrorHandler((error: FastifyError & { validationContext?: string }, request: FastifyRequest, reply) =>
    sendProblem(reply, requestProblem(error) ?? serverProblem(error, request, reply, opts.classifyStorageError)),
  );
}

/** Errors fastify raises before routing (no route context, so no hooks run: headers are set here). */
const FRAMEWORK_CODES: Record<string, { status: number; code: string; title: string; detail: string }> = {
  FST_ERR_BAD_URL: {
    status: 400,
    code: 'malformed_url',
    title: 'Malformed URL',
    detail: 'The path holds an invalid percent-escape.',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    code: 'uri_too_long',
    title: 'URI too long',
    detail: 'A path parameter is too long.',
  },
  FST_ERR_ASYNC_CONSTRAINT: {
    status: 400,
    code: 'malformed_request',
    title: 'Malformed request',
    detail: 'The request could not be routed.',
  },
};

/** fastify's `frameworkErrors`: routing failures as problem+json (the URL is not echoed: it is not valid). */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = FRAMEWORK_CODES[error.code] ?? {
    status: 400,
    code: 'malformed_request',
    title: 'Malformed request',
    detail: 'The request could not be routed.',
  };
  reply.header('x-request-id', request.id);
  applyResponseHeaders(reply, request.url);
  sendProblem(reply, { ...problem(mapped.status, mapped.code, mapped.title, mapped.detail), instance: '' });
}

const CLIENT_ERRORS: Record<string, { status: number; code: string; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', detail: 'The request took too long to arrive.' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', detail: 'The request line or headers are too large.' },
};

/**
 * fastify's `clientErrorHandler`: what Node's HTTP parser refuses (bad request line, unknown method,
 * oversized headers, slow requests) never reaches a route, so the problem is written to the socket here.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? ''];
  const status = known?.status ?? 400;
  const body = JSON.stringify(
    problem(
      status,
      known?.code ?? 'malformed_request',
      STATUS_CODES[status] ?? 'Bad Request',
      known?.detail ?? 'The request is not valid HTTP.',
    ),
  );
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${rawResponseHeaders()}Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export default fp(errorsPlugin, { name: 'errors', fastify: '5.x' });
