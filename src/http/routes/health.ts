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
    response: { 200: Closed({ status: Type.Literal('ok') }) },
  },
} satisfies RouteShorthandOptions;

const readiness = {
  config: { auth: 'public' },
  schema: {
    tags: ['operations'],
    summary: 'Readiness: database reachable and migrations current',
    response: {
      200: Closed({
        status: Type.Literal('ready'),
        database: Type.Literal('ok'),
        migrations: Type.Literal('current'),
      }),
      503: ProblemRef,
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
