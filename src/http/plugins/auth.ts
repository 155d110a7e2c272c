import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal, PrincipalLookup, Role } from '../../domain/principal.js';
import { problem, sendProblem } from '../problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: roles, or 'public'. Every route must declare it. */
    auth?: readonly Role[] | 'public';
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The authenticated caller; only valid on routes that declare roles. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route has no authenticated principal');
  return request.principal;
}

// The scheme name is case-insensitive (RFC 9110 11.1): `bearer` and `BEARER` are the same scheme.
const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]{16,200})$/i;
const PROBLEM_REF = { $ref: 'Problem#' };

function unauthorized(reply: FastifyReply, detail: string) {
  reply.header('www-authenticate', 'Bearer realm="premium-billing"');
  return sendProblem(reply, problem(401, 'unauthorized', 'Unauthorized', detail));
}

/** GET /v1/carriers/:id -> getCarriersById: stable names for generated clients. */
function operationId(route: RouteOptions): string {
  const method = (Array.isArray(route.method) ? route.method[0] : route.method) as string;
  const words = route.url
    .split('/')
    .filter((s) => s && s !== 'v1')
    .map((s) => (s.startsWith(':') ? `By-${s.slice(1)}` : s))
    .flatMap((s) => s.split(/[-.]/))
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return method.toLowerCase() + words.join('');
}

/**
 * Documents who may call a route (operationId, security and the 401/403/429 answers) on a copy of its
 * schema: route options may be shared consts, and one process may build several apps.
 */
function document(route: RouteOptions, auth: readonly Role[] | 'public') {
  const schema = { ...(route.schema as Record<string, unknown> | undefined) };
  const responses = { ...(schema.response as Record<string, unknown> | undefined) };
  schema.response = responses;
  route.schema = schema;
  schema.operationId ??= operationId(route);
  if (auth === 'public') {
    schema.security = [];
    responses[429] ??= {
      ...PROBLEM_REF,
      description: 'Rate limit per client address reached (`rate_limited`); retry after Retry-After seconds',
    };
    return;
  }
  schema.security = [{ bearerAuth: [] }];
  responses[401] ??= { ...PROBLEM_REF, description: 'Missing, unknown or revoked API key' };
  responses[403] ??= { ...PROBLEM_REF, description: `Only for roles: ${auth.join(', ')}` };
  responses[429] ??= {
    ...PROBLEM_REF,
    description: 'Rate limit or failed-authentication limit reached (see Retry-After)',
  };
}

async function authPlugin(app: FastifyInstance, opts: { apiKeys: PrincipalLookup; authFailuresPerMinute: number }) {
  app.decorateRequest('principal', null);
  // Failed authentications per client (request.ip honours TRUST_PROXY), counted only when one fails:
  // a valid key is looked up and passes before this budget is ever consulted (docs/decisions.md).
  const countFailure = app.createRateLimit({
    max: opts.authFailuresPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip,
    // Its own windows in a shared store (src/http/plugins/rateLimitStore.ts): never the per-key limit's.
    nameSpace: 'auth-failures:',
  } as Parameters<typeof app.createRateLimit>[0]);
  const refuse = async (request: FastifyRequest, reply: FastifyReply, detail: string) => {
    const budget = await countFailure(request);
    if (!budget.isAllowed && budget.isExceeded) {
      reply.header('retry-after', String(Math.max(1, budget.ttlInSeconds)));
      return sendProblem(
        reply,
        problem(
          429,
          'too_many_failed_authentications',
          'Too many requests',
          'Too many failed authentications; retry later.',
        ),
      );
    }
    return unauthorized(reply, detail);
  };

  app.addHook('onRoute', (route: RouteOptions) => {
    const auth = route.config?.auth;
    if (auth === undefined) {
      if (route.url.startsWith('/v1')) throw new Error(`route ${route.method} ${route.url} declares no auth`);
      return;
    }
    document(route, auth);
    if (auth === 'public') return;
    const roles = new Set<Role>(auth);
    const check = async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization;
      if (!header) return refuse(request, reply, 'Send Authorization: Bearer <api key>.');
      const m = BEARER.exec(header);
      if (!m?.[1]) return refuse(request, reply, 'The Authorization header must be "Bearer <api key>".');
      const principal = await opts.apiKeys.principalForSecret(m[1]);
      if (!principal) return refuse(request, reply, 'The API key is unknown or revoked.');
      request.principal = principal;
      if (!roles.has(principal.role)) {
        return sendProblem(
          reply,
          problem(403, 'forbidden', 'Forbidden', `The ${principal.role} role may not use this endpoint.`),
        );
      }
    };
    const existing = route.onRequest;
    route.onRequest = existing ? [check, ...(Array.isArray(existing) ? existing : [existing])] : [check];
  });
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['errors', '@fastify/rate-limit'] });
