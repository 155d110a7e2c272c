import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.js';

export interface StoredResponse {
  requestHash: Buffer;
  status: number;
  body: unknown;
}

/** Idempotency records live in the same transaction as the work they protect. */
export class IdempotencyStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** Transaction-scoped lock on (api key, idempotency key): false while another request holds it. */
  async tryLock(apiKeyId: string, key: string): Promise<boolean> {
    const r = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(hashtextextended(${`${apiKeyId}:${key}`}, 7301)) as locked
    `.execute(this.db);
    return r.rows[0]?.locked === true;
  }

  async find(apiKeyId: string, key: string, notBefore: Date): Promise<StoredResponse | null> {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'response_status', 'response_body'])
      .where('api_key_id', '=', apiKeyId)
      .where('key', '=', key)
      .where('created_at', '>=', notBefore)
      .executeTakeFirst();
    return row ? { requestHash: row.request_hash, status: row.response_status, body: row.response_body } : null;
  }

  async save(apiKeyId: string, key: string, response: StoredResponse, at: Date): Promise<void> {
    await this.db
      .insertInto('idempotency_keys')
      .values({
        api_key_id: apiKeyId,
        key,
        request_hash: response.requestHash,
        response_status: response.status,
        response_body: JSON.stringify(response.body),
        created_at: at,
      })
      .onConflict((oc) =>
        oc.columns(['api_key_id', 'key']).doUpdateSet({
          request_hash: response.requestHash,
          response_status: response.status,
          response_body: JSON.stringify(response.body),
          created_at: at,
        }),
      )
      .execute();
  }

  async savepoint(name: string): Promise<void> {
    await sql.raw(`savepoint ${name}`).execute(this.db);
  }

  async rollbackTo(name: string): Promise<void> {
    await sql.raw(`rollback to savepoint ${name}`).execute(this.db);
  }

  async purgeOlderThan(before: Date): Promise<number> {
    const r = await this.db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
