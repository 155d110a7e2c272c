import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Database } from '../../store/db.js';
import { migrationsCurrent } from '../../store/migrate.js';
import { problem, sendProblem } from '../problem.js';
import { Closed, ProblemRef } from '../schemas/common.js';

export default async function healthRoutes(app: FastifyInstance, opts: { database: Database }) {
  // Migrations only change with a deploy (a restart), so once current they stay current.
  let migrationsKnownCurrent = false;
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
        await sql`select 1`.execute(opts.database.db);
        if (!migrationsKnownCurrent) migrationsKnownCurrent = await migrationsCurrent(opts.database.db);
        if (!migrationsKnownCurrent) {
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
