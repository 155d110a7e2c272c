import { createCipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { FieldCipher, UndecryptableError } from '../../src/store/crypto.js';
import { reencryptAll } from '../../src/store/keyRotation.js';
import { type TestContext, testApp, testConfig } from '../helpers/app.js';
import { newEnrollment, setClock } from '../helpers/factories.js';
import { VALID_ROUTING } from '../helpers/payments.js';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const HMAC = randomBytes(32).toString('base64');
const k1 = `k1:${K1.toString('base64')}`;
const k2 = `k2:${K2.toString('base64')}`;

/** The service as it would start with this environment, on the test's database. */
async function restartWith(ctx: TestContext, t: { teardown(fn: () => unknown): void }, env: Record<string, string>) {
  const app: FastifyInstance = await buildApp({
    config: testConfig({ DATA_ENCRYPTION_KEY: '', ...env }),
    database: ctx.database,
    clock: ctx.clock,
    logger: false,
  });
  t.teardown(() => app.close());
  return (opts: { method: 'POST' | 'GET'; url: string; payload?: object; headers?: Record<string, string> }) =>
    app.inject({ ...opts, headers: { ...(opts.headers ?? {}), authorization: `Bearer ${ctx.opsKey}` } });
}

function bankPayment(enrollmentId: string, accountNumber: string) {
  return {
    channel: 'online',
    method: 'checking',
    amountCents: 1000,
    enrollmentId,
    bankAccount: { routingNumber: VALID_ROUTING[0], accountNumber },
  };
}

async function storedRows(ctx: TestContext) {
  const rows = await sql<{ id: string; blob: Buffer; key_id: string }>`
    select id, bank_account_ciphertext as blob, bank_account_key_id as key_id from payments
    where bank_account_ciphertext is not null order by id`.execute(ctx.database.db);
  return rows.rows;
}

/** What the release before issue 11 wrote: iv | tag | data, the column name as the only additional data. */
function legacyCiphertext(key: Buffer, plaintext: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from('payments.bank_account', 'utf8'));
  const data = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), data]);
}

const AAD = (id: string) => ({ column: 'payments.bank_account', rowId: id });

t.test(
  'after a key rotation old rows still decrypt, and rotate-keys re-encrypts every row to the current key',
  async (t) => {
    const ctx = await testApp(t, {
      env: { DATA_ENCRYPTION_KEY: '', DATA_ENCRYPTION_KEYS: k1, IDEMPOTENCY_HMAC_KEY: HMAC },
    });
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx);
    const accounts = ['111122223333', '444455556666', '777788889999'];
    const before = await restartWith(ctx, t, { DATA_ENCRYPTION_KEYS: k1, IDEMPOTENCY_HMAC_KEY: HMAC });
    const ids: string[] = [];
    for (const a of accounts.slice(0, 2)) {
      const res = await before({
        method: 'POST',
        url: '/v1/payments',
        headers: { 'idempotency-key': randomUUID() },
        payload: bankPayment(e.id, a),
      });
      t.equal(res.statusCode, 201);
      ids.push(res.json().id);
    }
    // One row as the previous release wrote it (constant additional data).
    await sql`update payments set bank_account_ciphertext = ${legacyCiphertext(K1, accounts[1] as string)}
            where id = ${ids[1]}`.execute(ctx.database.db);

    // Rotation step 1: k2 becomes current, k1 stays listed. New rows use k2; old ones still read.
    const after = await restartWith(ctx, t, { DATA_ENCRYPTION_KEYS: `${k2},${k1}`, IDEMPOTENCY_HMAC_KEY: HMAC });
    const res = await after({
      method: 'POST',
      url: '/v1/payments',
      headers: { 'idempotency-key': randomUUID() },
      payload: bankPayment(e.id, accounts[2] as string),
    });
    t.equal(res.statusCode, 201);
    ids.push(res.json().id);
    const rotated = new FieldCipher([
      { id: 'k2', key: K2 },
      { id: 'k1', key: K1 },
    ]);
    const rows = await storedRows(ctx);
    t.same(
      Object.fromEntries(rows.map((r) => [r.id, r.key_id])),
      Object.fromEntries(ids.map((id) => [id, id === ids[2] ? 'k2' : 'k1'])),
      'old rows name k1, the new one k2',
    );
    for (const [i, id] of ids.entries()) {
      const row = rows.find((r) => r.id === id);
      t.equal(row && rotated.decrypt(row.key_id, row.blob, AAD(id)).plaintext, accounts[i], `row ${i} decrypts`);
    }

    // Step 2: the command.
    const report = (await reencryptAll(ctx.database.db, rotated, { batchSize: 2 })).filter(
      (c) => c.column === 'payments.bank_account',
    );
    t.same(
      report.map((c) => ({ reencrypted: c.reencrypted, current: c.current, failed: c.failed })),
      [{ reencrypted: 2, current: 1, failed: [] }],
      'the k1 row and the legacy row are re-encrypted, the k2 row is already current',
    );
    const again = (await reencryptAll(ctx.database.db, rotated, { batchSize: 2 })).filter(
      (c) => c.column === 'payments.bank_account',
    );
    t.equal(again[0]?.reencrypted, 0, 'running it again changes nothing');

    // Step 3: k1 can go.
    const onlyK2 = new FieldCipher([{ id: 'k2', key: K2 }]);
    for (const row of await storedRows(ctx)) {
      t.equal(row.key_id, 'k2');
      t.equal(onlyK2.decrypt(row.key_id, row.blob, AAD(row.id)).plaintext, accounts[ids.indexOf(row.id)]);
    }
  },
);

t.test(
  'a ciphertext copied to another row does not decrypt there, and the command reports it by id only',
  async (t) => {
    const ctx = await testApp(t, {
      env: { DATA_ENCRYPTION_KEY: '', DATA_ENCRYPTION_KEYS: k1, IDEMPOTENCY_HMAC_KEY: HMAC },
    });
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx);
    const ids: string[] = [];
    for (const a of ['123412341234', '987698769876']) {
      const res = await ctx.request({
        method: 'POST',
        url: '/v1/payments',
        headers: { 'idempotency-key': randomUUID() },
        payload: bankPayment(e.id, a),
      });
      ids.push(res.json().id);
    }
    const [a, b] = ids as [string, string];
    await sql`update payments set bank_account_ciphertext = (select bank_account_ciphertext from payments where id = ${a})
            where id = ${b}`.execute(ctx.database.db);
    const cipher = new FieldCipher([{ id: 'k1', key: K1 }]);
    const rowB = (await storedRows(ctx)).find((r) => r.id === b);
    const err = (() => {
      try {
        cipher.decrypt('k1', rowB?.blob as Buffer, AAD(b));
        return null;
      } catch (e) {
        return e as Error;
      }
    })();
    t.ok(err instanceof UndecryptableError, 'the swapped ciphertext is refused');
    t.notMatch(err?.message ?? '', /1234|9876/, 'the error carries no account digits');
    const report = await reencryptAll(
      ctx.database.db,
      new FieldCipher([
        { id: 'k2', key: K2 },
        { id: 'k1', key: K1 },
      ]),
    );
    t.same(report[0]?.failed, [b], 'the command re-encrypts the rest and names the row it could not read');
    t.equal(report[0]?.reencrypted, 1);
    // Known limit until the command has rewritten them: a legacy ciphertext (column-only additional data) reads in any row.
    t.equal(
      cipher.decrypt('k1', legacyCiphertext(K1, '55556666'), AAD(a)).plaintext,
      '55556666',
      'a legacy row still reads',
    );
  },
);

t.test(
  'idempotent replays survive a data-key rotation, and keys stored by the previous release still replay',
  async (t) => {
    const ctx = await testApp(t, { env: { DATA_ENCRYPTION_KEY: k1, IDEMPOTENCY_HMAC_KEY: HMAC } });
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx);
    const key = randomUUID();
    const payload = bankPayment(e.id, '246824682468');
    const first = await ctx.request({
      method: 'POST',
      url: '/v1/payments',
      headers: { 'idempotency-key': key },
      payload,
    });
    t.equal(first.statusCode, 201);

    const rotated = await restartWith(ctx, t, { DATA_ENCRYPTION_KEY: k2, IDEMPOTENCY_HMAC_KEY: HMAC });
    const replay = await rotated({ method: 'POST', url: '/v1/payments', headers: { 'idempotency-key': key }, payload });
    t.equal(replay.statusCode, 201, `replayed after the data key changed (${replay.body.slice(0, 80)})`);
    t.equal(replay.headers['idempotent-replayed'], 'true');
    t.equal(replay.json().id, first.json().id);

    // A key the previous release stored: its fingerprint was keyed from the data key.
    const oldKey = randomUUID();
    const oldPayload = bankPayment(e.id, '135713571357');
    const stored = await ctx.request({
      method: 'POST',
      url: '/v1/payments',
      headers: { 'idempotency-key': oldKey },
      payload: oldPayload,
    });
    const legacyHmacKey = createHmac('sha256', K1).update('idempotency-fingerprint').digest();
    const canonical = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(canonical).join(',')}]`
        : v && typeof v === 'object'
          ? `{${Object.entries(v as Record<string, unknown>)
              .filter(([, x]) => x !== undefined)
              .sort(([x], [y]) => (x < y ? -1 : 1))
              .map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`)
              .join(',')}}`
          : JSON.stringify(v);
    const legacyHash = createHmac('sha256', legacyHmacKey)
      .update(`POST /v1/payments\n${canonical({ params: {}, body: oldPayload })}`)
      .digest();
    await sql`update idempotency_keys set request_hash = ${legacyHash} where key = ${oldKey}`.execute(ctx.database.db);
    const upgraded = await restartWith(ctx, t, { DATA_ENCRYPTION_KEYS: `${k2},${k1}`, IDEMPOTENCY_HMAC_KEY: HMAC });
    const legacyReplay = await upgraded({
      method: 'POST',
      url: '/v1/payments',
      headers: { 'idempotency-key': oldKey },
      payload: oldPayload,
    });
    t.equal(legacyReplay.statusCode, 201, 'a key stored before the upgrade still replays');
    t.equal(legacyReplay.json().id, stored.json().id);
    const other = await upgraded({
      method: 'POST',
      url: '/v1/payments',
      headers: { 'idempotency-key': oldKey },
      payload: { ...oldPayload, amountCents: 999 },
    });
    t.equal(other.statusCode, 422, 'and a different body under it is still refused');
  },
);

t.test('configuration: a key list, the single key, the local key files, and production requirements', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'billing-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const list = testConfig({ DATA_ENCRYPTION_KEY: '', DATA_ENCRYPTION_KEYS: `${k2},${k1}`, IDEMPOTENCY_HMAC_KEY: HMAC });
  t.same(
    list.dataEncryptionKeys.map((k) => k.id),
    ['k2', 'k1'],
    'first is current',
  );
  t.throws(
    () => testConfig({ DATA_ENCRYPTION_KEY: '', DATA_ENCRYPTION_KEYS: `${k1},${k1}` }),
    /DATA_ENCRYPTION_KEYS/,
    'ids are unique',
  );
  t.throws(() => testConfig({ DATA_ENCRYPTION_KEYS: k1, DATA_ENCRYPTION_KEY: k2 }), /not both/);
  t.throws(() => testConfig({ IDEMPOTENCY_HMAC_KEY: 'c2hvcnQ=' }), /IDEMPOTENCY_HMAC_KEY/, 'at least 32 bytes');
  t.throws(
    () =>
      testConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://x@y/z',
        ALLOW_TEST_CLOCK: 'false',
        IDEMPOTENCY_HMAC_KEY: '',
      }),
    /IDEMPOTENCY_HMAC_KEY is required/,
  );
  const local = testConfig({ DATA_ENCRYPTION_KEY: '', IDEMPOTENCY_HMAC_KEY: '', DATA_DIR: dir });
  const again = testConfig({ DATA_ENCRYPTION_KEY: '', IDEMPOTENCY_HMAC_KEY: '', DATA_DIR: dir });
  t.equal(local.dataEncryptionKeys.length, 1, 'a local data key is generated');
  t.ok(local.idempotencyHmacKey.equals(again.idempotencyHmacKey), 'the local HMAC key is kept in a file');
  t.notOk(
    local.idempotencyHmacKey.equals(local.dataEncryptionKeys[0]?.key as Buffer),
    'and independent of the data key',
  );
});

t.test('every ciphertext has its own nonce, also across refills of the nonce pool', async (t) => {
  const cipher = new FieldCipher([{ id: 'k1', key: K1 }]);
  const seen = new Set<string>();
  // 4,096 nonces per pool: 10,000 encryptions cross two refills.
  for (let i = 0; i < 10_000; i++) {
    const place = { column: 'payments.bank_account_ciphertext', rowId: `pay_${i}` };
    const { blob } = cipher.encrypt('123456789', place);
    seen.add(blob.subarray(1, 13).toString('hex'));
    if (i % 997 === 0) t.equal(cipher.decrypt('k1', blob, place).plaintext, '123456789');
  }
  t.equal(seen.size, 10_000, 'no nonce used twice');
});
