import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { Type } from 'typebox';
import { problem, sendProblem } from '../problem.js';
import { Closed, ProblemRef } from '../schemas/common.js';

/** Asks the store whether the database answers and its migrations are current (throws when unreachable). */
export type ReadinessCheck = () => Promise<'ready' | 'migrations_pending'>;

const liveness = {
  config: { auth: 'public' },
  schema: {
    tags: ['operations'],
    summary: 'Liveness: the process is up',
    description:
      'Answers 200 while the process can serve requests; it does not touch the database (see /ready for that). No API key needed. Rate-limited per client address like every route.',
    response: {
      200: Closed({ status: Type.Literal('ok') }, { description: 'The process is up', examples: [{ status: 'ok' }] }),
    },
  },
} satisfies RouteShorthandOptions;

const readiness = {
  config: { auth: 'public' },
  schema: {
    tags: ['operations'],
    summary: 'Readiness: database reachable and migrations current',
    description:
      'Answers 200 when the database answers and every migration has run, so a load balancer can send traffic; otherwise 503 problem+json: `database_unavailable` when the database does not answer, `migrations_pending` when migrations are not current, `shutting_down` while the service stops. No API key needed.',
    response: {
      200: Closed(
        {
          status: Type.Literal('ready'),
          database: Type.Literal('ok'),
          migrations: Type.Literal('current'),
        },
        { description: 'Ready for traffic', examples: [{ status: 'ready', database: 'ok', migrations: 'current' }] },
      ),
      503: {
        ...ProblemRef,
        description:
          'Not ready: the database is unreachable (`database_unavailable`), migrations are not current (`migrations_pending`), or the service is shutting down (`shutting_down`).',
      },
    },
  },
} satisfies RouteShorthandOptions;

/** 200 when ready; 503 `migrations_pending` or `database_unavailable` otherwise. */
async function ready(check: ReadinessCheck, request: FastifyRequest, reply: FastifyReply) {
  try {
    if ((await check()) === 'migrations_pending') {
      return sendProblem(
        reply,
        problem(503, 'migrations_pending', 'Not ready', 'Database migrations are not current.'),
      );
    }
  } catch (err) {
    request.log.warn({ err: { message: (err as Error).message } }, 'readiness check failed');
    return sendProblem(reply, problem(503, 'database_unavailable', 'Not ready', 'The database is unreachable.'));
  }
  return { status: 'ready' as const, database: 'ok' as const, migrations: 'current' as const };
}

export default async function healthRoutes(app: FastifyInstance, opts: { readiness: ReadinessCheck }) {
  app.get('/health', liveness, async () => ({ status: 'ok' as const }));
  app.get('/ready', readiness, (request, reply) => ready(opts.readiness, request, reply));
}
