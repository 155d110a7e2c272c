import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.js';

export interface StoredResponse {
  requestHash: Buffer;
  status: number;
  body: unknown;
}

/** What is stored for a key: written by `save`, or by a work's own final statement. */
export interface IdempotencyRecord {
  apiKeyId: string;
  key: string;
  requestHash: Buffer;
  status: number;
  body: unknown;
  at: Date;
}

/** Idempotency records live in the same transaction as the work they protect. */
export class IdempotencyStore {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * One round trip: the transaction-scoped lock on (api key, idempotency key), then, once it is held,
   * the stored answer (`idempotency_begin`, migration 0006). `locked` is false while another request
   * holds the key.
   */
  async begin(
    apiKeyId: string,
    key: string,
    notBefore: Date,
  ): Promise<{ locked: boolean; found: StoredResponse | null }> {
    const r = await sql<{
      locked: boolean;
      request_hash: Buffer | null;
      response_status: number | null;
      response_body: unknown;
    }>`select * from idempotency_begin(${apiKeyId}, ${key}, ${notBefore})`.execute(this.db);
    const row = r.rows[0];
    if (!row?.locked) return { locked: false, found: null };
    if (row.request_hash === null || row.response_status === null) return { locked: true, found: null };
    return {
      locked: true,
      found: { requestHash: row.request_hash, status: row.response_status, body: row.response_body },
    };
  }

  async save(record: IdempotencyRecord): Promise<void> {
    const { apiKeyId, key, at, requestHash, status } = record;
    const body = JSON.stringify(record.body);
    await this.db
      .insertInto('idempotency_keys')
      .values({
        api_key_id: apiKeyId,
        key,
        request_hash: requestHash,
        response_status: status,
        response_body: body,
        created_at: at,
      })
      .onConflict((oc) =>
        oc.columns(['api_key_id', 'key']).doUpdateSet({
          request_hash: requestHash,
          response_status: status,
          response_body: body,
          created_at: at,
        }),
      )
      .execute();
  }

  async purgeOlderThan(before: Date): Promise<number> {
    const r = await this.db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
