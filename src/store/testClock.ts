import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { type ApiKeyCache, CLOCK_CHANNEL } from '../infra/apiKeyCache.js';
import type { DB } from './schema.js';

/**
 * The test clock's frozen instant, in the database so that every instance serving it shares one
 * clock (ALLOW_TEST_CLOCK=true only; docs/decisions.md, "Several instances"). No row: real time.
 * A change is announced on CLOCK_CHANNEL in its own transaction and, with the listener of the
 * API-key cache, answers only once every listening instance has taken it.
 */
export class TestClockStore {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly listener: ApiKeyCache | null = null,
  ) {}

  async read(): Promise<Date | null> {
    const row = await this.db.selectFrom('test_clock').select('frozen_at').executeTakeFirst();
    return row ? row.frozen_at : null;
  }

  freeze(at: Date): Promise<void> {
    return this.changeAndNotify(async (trx) => {
      await trx
        .insertInto('test_clock')
        .values({ frozen_at: at })
        .onConflict((oc) => oc.column('id').doUpdateSet({ frozen_at: at }))
        .execute();
    });
  }

  reset(): Promise<void> {
    return this.changeAndNotify(async (trx) => {
      await trx.deleteFrom('test_clock').execute();
    });
  }

  private async changeAndNotify(change: (trx: Kysely<DB>) => Promise<void>): Promise<void> {
    const token = `clock:${randomUUID()}`;
    const propagation = this.listener?.expectRevocation(token);
    try {
      await this.db.transaction().execute(async (trx) => {
        await change(trx);
        await sql`select pg_notify(${CLOCK_CHANNEL}, ${token})`.execute(trx);
      });
      await propagation?.settle();
    } finally {
      propagation?.dispose();
    }
  }
}
