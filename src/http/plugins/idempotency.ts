import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError } from '../../domain/errors.js';
import type { Answered, IdempotencyKey, IdempotencyService, Idempotent, Outcome } from '../../services/idempotency.js';
import { PROBLEM_CONTENT_TYPE } from '../problem.js';
import { principalOf } from './auth.js';
import { domainProblem } from './errors.js';

export type IdempotencyMode = 'required' | 'optional';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * SPEC "Idempotency": every POST that creates or changes something declares it. 'required':
     * a request without an Idempotency-Key is 400 `idempotency_key_required`.
     */
    idempotency?: IdempotencyMode;
  }
  interface FastifyRequest {
    /** The request's key and fingerprint; null when it sent none (or the route takes none). */
    idempotencyKey: IdempotencyKey | null;
    /** The idempotency context for the route's use case: `answer` renders its result. */
    idempotent<T>(answer: (result: T) => Outcome & { stored?: unknown }): Idempotent<T>;
  }
  interface FastifyReply {
    /** Sends a use case's answer; a replay carries `Idempotent-Replayed: true`. */
    answer(answered: Answered): FastifyReply;
  }
}

const HEADER = 'idempotency-key';

/** A use case's result as the answer a route gives: `request.idempotent(answerWith(201, paymentView))`. */
export function answerWith<T>(status: number, view: (result: T) => unknown): (result: T) => Outcome {
  return (result) => ({ status, body: view(result) });
}

function keySchema(mode: IdempotencyMode) {
  return {
    type: 'string',
    minLength: 1,
    maxLength: 255,
    description:
      mode === 'required'
        ? 'Required (400 `idempotency_key_required` without it). A retry with the same key and the same body replays the first answer with `Idempotent-Replayed: true`; a different body is 422 `idempotency_key_reused`; while the first is still running, 409 `idempotency_key_in_flight`. Scoped to the API key; kept 48 hours.'
        : 'Optional. A retry with the same key and the same body replays the first answer with `Idempotent-Replayed: true` instead of doing the work again; a different body is 422 `idempotency_key_reused`; while the first is still running, 409 `idempotency_key_in_flight`. Scoped to the API key; kept 48 hours.',
  };
}

/** Documents a problem the key can cause: a new response, or one more sentence on the route's own. */
function addProblem(responses: Record<string, unknown>, status: number, text: string) {
  const existing = responses[status] as { description?: string } | undefined;
  responses[status] = existing
    ? { ...existing, description: `${existing.description ?? ''} Also: ${text}`.trim() }
    : { $ref: 'Problem#', description: text.charAt(0).toUpperCase() + text.slice(1) };
}

/** Adds the Idempotency-Key header (and the problems it can cause) to a copy of a route's schema. */
function document(route: RouteOptions, mode: IdempotencyMode) {
  const schema = { ...(route.schema as Record<string, unknown> | undefined) };
  const headers = (schema.headers ?? { type: 'object', properties: {} }) as {
    properties?: Record<string, unknown>;
  };
  schema.headers = { ...headers, properties: { ...(headers.properties ?? {}), [HEADER]: keySchema(mode) } };
  const responses = { ...(schema.response as Record<string, unknown> | undefined) };
  addProblem(
    responses,
    409,
    'a request with the same Idempotency-Key is still running (`idempotency_key_in_flight`); retry later.',
  );
  addProblem(responses, 422, 'the Idempotency-Key was used before with another body (`idempotency_key_reused`).');
  if (mode === 'required') {
    addProblem(responses, 400, 'the Idempotency-Key header is missing (`idempotency_key_required`).');
  }
  schema.response = responses;
  route.schema = schema;
}

/**
 * SPEC "Idempotency" for every route that declares `config.idempotency`: reads the key, fingerprints
 * the request (route, path parameters and the canonical JSON body), and sends the use case's answer
 * with the replay header. The use case records the answer in the transaction of its own write.
 * Requests refused before they run (400, 401, 403, 413, 429) never reach it, so are not remembered.
 */
async function idempotencyPlugin(app: FastifyInstance, opts: { idempotency: IdempotencyService }) {
  app.decorateRequest('idempotencyKey', null);
  app.decorateRequest('idempotent', function idempotent<
    T,
  >(this: FastifyRequest, answer: (result: T) => Outcome & { stored?: unknown }): Idempotent<T> {
    return {
      key: this.idempotencyKey,
      answer,
      refusal: (err) => {
        const p = domainProblem(err);
        return p ? { status: p.status, body: p } : null;
      },
    };
  });
  app.decorateReply('answer', function answer(this: FastifyReply, answered: Answered) {
    if (answered.replayed) this.header('idempotent-replayed', 'true');
    this.code(answered.status);
    if (answered.status >= 400) {
      return this.type(PROBLEM_CONTENT_TYPE).send({
        ...(answered.body as object),
        instance: this.request.url,
        requestId: this.request.id,
      });
    }
    return this.send(answered.body);
  });

  app.addHook('onRoute', (route: RouteOptions) => {
    const mode = route.config?.idempotency;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (mode === undefined) {
      if (methods.includes('POST') && route.url.startsWith('/v1')) {
        throw new Error(`route POST ${route.url} declares no idempotency`);
      }
      return;
    }
    document(route, mode);
    const missing = (request: FastifyRequest) => {
      const key = request.headers[HEADER];
      return typeof key !== 'string' || key === '';
    };
    // A missing required key is refused before the route's own checks (R19's method screen, the
    // schema): a 422 is a business answer that is remembered, and this request is never run.
    const requireKey = async (request: FastifyRequest) => {
      if (mode === 'required' && missing(request)) {
        throw new DomainError(
          'idempotency_key_required',
          'Send an Idempotency-Key header (for example a UUID) with this request.',
        );
      }
    };
    const read = async (request: FastifyRequest) => {
      const key = request.headers[HEADER];
      if (typeof key !== 'string' || key === '') return;
      request.idempotencyKey = {
        apiKeyId: principalOf(request).keyId,
        key,
        requestHash: opts.idempotency.fingerprint(request.method, route.url, {
          params: request.params,
          body: request.body,
        }),
      };
    };
    const asList = <H>(hooks: H | H[] | undefined): H[] =>
      hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
    route.preValidation = [requireKey, ...asList(route.preValidation)];
    route.preHandler = [...asList(route.preHandler), read];
  });
}

export default fp(idempotencyPlugin, { name: 'idempotency', fastify: '5.x', dependencies: ['auth', 'errors'] });
