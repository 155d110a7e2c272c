import { type Kysely, sql } from 'kysely';
import { migrationsCurrent } from '../infra/migrate.js';

export type Readiness = 'ready' | 'migrations_pending';

/**
 * Readiness (`GET /ready`): the database answers and every migration has run. Migrations only change
 * with a deploy (a restart), so once current they are not asked again. A database that cannot be
 * reached throws (the route answers 503 `database_unavailable`).
 */
export class HealthStore {
  private migrationsKnownCurrent = false;

  constructor(private readonly db: Kysely<any>) {}

  async readiness(): Promise<Readiness> {
    await sql`select 1`.execute(this.db);
    if (!this.migrationsKnownCurrent) this.migrationsKnownCurrent = await migrationsCurrent(this.db);
    return this.migrationsKnownCurrent ? 'ready' : 'migrations_pending';
  }
}
