import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import pino from 'pino';
import { createDatabase, type Database, DEFAULT_DATABASE_LIMITS } from '../src/infra/db.js';
import { migrateToLatest } from '../src/infra/migrate.js';
import { admin, serverOf } from '../test/helpers/serverAdmin.js';

/**
 * A fresh, migrated database for one bench run: on DATABASE_URL's server, else on an embedded one
 * under .data/pg-bench. `close` drops it (KEEP_DB=1 keeps it) and stops the embedded server.
 */
export async function benchDatabase(name: string): Promise<{ database: Database; close: () => Promise<void> }> {
  let serverUrl: string;
  let adminDb = 'postgres';
  let stop: (() => Promise<void>) | undefined;
  if (process.env.DATABASE_URL) {
    ({ server: serverUrl, adminDb } = serverOf(process.env.DATABASE_URL));
  } else {
    const { startEmbeddedPostgres } = await import('../src/infra/embedded.js');
    const embedded = await startEmbeddedPostgres({ dataDir: path.resolve('.data/pg-bench'), port: 54331 });
    serverUrl = embedded.serverUrl;
    stop = embedded.stop;
  }
  await admin(`${serverUrl}/${adminDb}`, `create database ${name}`);
  // Seeding puts hundreds of thousands of rows in one statement: the service's per-statement limits
  // (15 s) are for requests, not for building a bench database.
  const limits = { ...DEFAULT_DATABASE_LIMITS, startupParameters: false, queryTimeoutMs: 30 * 60_000 };
  const database = createDatabase(`${serverUrl}/${name}`, pino({ level: 'silent' }), 4, limits);
  await migrateToLatest(database.db);
  return {
    database,
    close: async () => {
      await database.close();
      if (!process.env.KEEP_DB) await admin(`${serverUrl}/${adminDb}`, `drop database if exists ${name} with (force)`);
      else console.log(`kept database ${name}`);
      await stop?.();
    },
  };
}

/** The bench carrier and `n` accounts (member ids 100000000001..), a third of them paperless. */
export async function seedAccounts(db: Kysely<any>, n: number): Promise<void> {
  await sql`insert into carriers (id, name, name_key) values ('bench', 'Bench Carrier', 'bench carrier')`.execute(db);
  await sql`
    insert into accounts (member_id, first_name, last_name, address_line1, city, state, postal_code, phone_numbers, paperless)
    select (100000000000 + g)::text, 'First' || g, 'Last' || g, g || ' Main St', 'Boston', 'MA', '02108',
           array['+1617' || lpad(g::text, 7, '0')], g % 3 = 0
    from generate_series(1, ${n}) g`.execute(db);
}
