import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { KeyMismatchError, verifyInstanceKeys } from '../../src/store/keyChecks.js';
import { testApp } from '../helpers/app.js';

const key = () => randomBytes(32);

t.test('key checks: recorded once, same keys pass, another key under a recorded name is refused', async (t) => {
  const ctx = await testApp(t);
  const db = ctx.database.db;
  await sql`delete from key_checks`.execute(db);
  const k1 = { id: 'k1', key: key() };
  const hmac = key();
  await t.resolves(verifyInstanceKeys(db, { dataEncryptionKeys: [k1], idempotencyHmacKey: hmac }), 'first start');
  await t.resolves(verifyInstanceKeys(db, { dataEncryptionKeys: [k1], idempotencyHmacKey: hmac }), 'same keys');
  const rows = await sql<{ purpose: string; key_id: string; check_value: Buffer }>`
    select purpose, key_id, check_value from key_checks order by purpose, key_id`.execute(db);
  t.same(
    rows.rows.map((r) => [r.purpose, r.key_id]),
    [
      ['data_encryption', 'k1'],
      ['idempotency_hmac', 'current'],
    ],
  );
  for (const r of rows.rows) {
    t.notOk(r.check_value.equals(k1.key) || r.check_value.equals(hmac), 'a check value is not the key');
    t.equal(r.check_value.indexOf(k1.key.subarray(0, 8)), -1, 'and holds no part of it');
  }

  // A rotation: a new current key, the old one kept to decrypt.
  const k2 = { id: 'k2', key: key() };
  await t.resolves(verifyInstanceKeys(db, { dataEncryptionKeys: [k2, k1], idempotencyHmacKey: hmac }), 'rotation');

  const otherK1 = { id: 'k1', key: key() };
  const refused = await verifyInstanceKeys(db, { dataEncryptionKeys: [otherK1], idempotencyHmacKey: key() }).then(
    () => null,
    (err: unknown) => err,
  );
  t.type(refused, KeyMismatchError);
  const e = refused as KeyMismatchError;
  t.same(
    e.mismatches.map((m) => [m.purpose, m.keyId]),
    [
      ['data_encryption', 'k1'],
      ['idempotency_hmac', 'current'],
    ],
  );
  t.match(e.message, /the key with id "k1" differs/);
  t.notOk(e.message.includes(otherK1.key.toString('base64')), 'no key material in the message');
});

t.test('key checks: two instances starting at once with different keys: exactly one is refused', async (t) => {
  const ctx = await testApp(t);
  const db = ctx.database.db;
  for (let round = 0; round < 30; round++) {
    await sql`delete from key_checks`.execute(db);
    const outcomes = await Promise.all(
      [0, 1].map(() =>
        verifyInstanceKeys(db, { dataEncryptionKeys: [{ id: 'local1', key: key() }], idempotencyHmacKey: key() }).then(
          () => 'started',
          (err: unknown) => (err instanceof KeyMismatchError ? 'refused' : String(err)),
        ),
      ),
    );
    t.same(outcomes.toSorted(), ['refused', 'started'], `round ${round}`);
  }
});
