import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

/**
 * The test clock's frozen instant, in the database so that every instance serving it shares one
 * clock (ALLOW_TEST_CLOCK=true only; docs/decisions.md, "Several instances"). No row: real time.
 */
export class TestClockStore {
  constructor(private readonly db: Kysely<DB>) {}

  async read(): Promise<Date | null> {
    const row = await this.db.selectFrom('test_clock').select('frozen_at').executeTakeFirst();
    return row ? row.frozen_at : null;
  }

  async freeze(at: Date): Promise<void> {
    await this.db
      .insertInto('test_clock')
      .values({ frozen_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ frozen_at: at }))
      .execute();
  }

  async reset(): Promise<void> {
    await this.db.deleteFrom('test_clock').execute();
  }
}
