import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { DataKey } from './crypto.js';
import type { DB } from './schema.js';

/** What an instance's keys must agree on with every other instance of the same database. */
export interface InstanceKeys {
  dataEncryptionKeys: readonly DataKey[];
  idempotencyHmacKey: Buffer;
}

/** A key that differs from the one recorded under the same name: names the setting, never key material. */
export class KeyMismatchError extends Error {
  constructor(readonly mismatches: { purpose: string; keyId: string; setting: string; recordedAt: Date }[]) {
    super(
      mismatches
        .map(
          (m) =>
            `${m.setting}: the key ${m.purpose === 'data_encryption' ? `with id "${m.keyId}" ` : ''}differs from the one ` +
            `this database has used since ${m.recordedAt.toISOString()} (every instance of one database needs the same keys)`,
        )
        .join('; '),
    );
    this.name = 'KeyMismatchError';
  }
}

const LABEL = 'connector-billing key check v1';
/** Transaction-level advisory lock serialising instances' key checks (class id unique in the service). */
const KEY_CHECK_LOCK = 7_301_041;

function checkValue(key: Buffer, purpose: string, keyId: string): Buffer {
  return createHmac('sha256', key).update(`${LABEL}\0${purpose}\0${keyId}`).digest();
}

/**
 * Records a check value for each of this instance's keys the database has not seen (a new key id
 * after a rotation), and throws `KeyMismatchError` when a key differs from the one recorded under the
 * same purpose and id (docs/decisions.md, "Several instances"). Two instances that start together
 * with different keys: one records, the other finds the mismatch.
 */
export async function verifyInstanceKeys(db: Kysely<DB>, keys: InstanceKeys): Promise<void> {
  const mine = [
    ...keys.dataEncryptionKeys.map((k) => ({
      purpose: 'data_encryption',
      keyId: k.id,
      setting: 'DATA_ENCRYPTION_KEYS (or DATA_ENCRYPTION_KEY)',
      value: checkValue(k.key, 'data_encryption', k.id),
    })),
    {
      purpose: 'idempotency_hmac',
      keyId: 'current',
      setting: 'IDEMPOTENCY_HMAC_KEY',
      value: checkValue(keys.idempotencyHmacKey, 'idempotency_hmac', 'current'),
    },
  ];
  const mismatches: KeyMismatchError['mismatches'] = [];
  // One instance at a time, all its keys at once: two instances starting together with different keys
  // each recorded some of theirs (one the data key, the other the HMAC key), so both were refused and
  // no configuration matched the database any more. Under the lock the first records every key and
  // the second finds them all.
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${KEY_CHECK_LOCK}::int4, 0)`.execute(trx);
    for (const k of mine) {
      await sql`insert into key_checks (purpose, key_id, check_value) values (${k.purpose}, ${k.keyId}, ${k.value})
                on conflict (purpose, key_id) do nothing`.execute(trx);
      const r = await sql<{ check_value: Buffer; recorded_at: Date }>`
        select check_value, recorded_at from key_checks where purpose = ${k.purpose} and key_id = ${k.keyId}`.execute(
        trx,
      );
      const recorded = r.rows[0];
      if (!recorded) throw new Error(`key check for ${k.purpose} ${k.keyId} was neither recorded nor found`);
      const same = recorded.check_value.length === k.value.length && timingSafeEqual(recorded.check_value, k.value);
      if (!same)
        mismatches.push({ purpose: k.purpose, keyId: k.keyId, setting: k.setting, recordedAt: recorded.recorded_at });
    }
    // A refused instance records nothing: its new key ids must not stay behind.
    if (mismatches.length > 0) throw new KeyMismatchError(mismatches);
  });
}
