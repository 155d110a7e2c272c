import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { problem, sendProblem } from '../problem.js';
import { Closed, ProblemRef } from '../schemas/common.js';

/** Asks the store whether the database answers and its migrations are current (throws when unreachable). */
export type ReadinessCheck = () => Promise<'ready' | 'migrations_pending'>;

export default async function healthRoutes(app: FastifyInstance, opts: { readiness: ReadinessCheck }) {
  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process is up',
        response: { 200: Closed({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
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
    },
    async (request, reply) => {
      try {
        if ((await opts.readiness()) === 'migrations_pending') {
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
    },
  );
}
