/**
 * ACH file benchmark (R35, issue 15): seeds N online and phone bank payments (default 10,000; account
 * numbers encrypted as the service stores them) in a fresh database, then times
 * `POST /v1/ops/ach-files` through the app (lock, decrypt, build, encrypt, write every trace number),
 * three times with N fresh payments each; reports each run and the median.
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx bench/ach-file.ts [payments]
 *
 * Without DATABASE_URL it uses an embedded PostgreSQL under .data/pg-bench.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ServiceClock } from '../src/infra/clock.js';
import { ApiKeyStore } from '../src/store/apiKeys.js';
import { FieldCipher } from '../src/store/crypto.js';
import { BANK_ACCOUNT_COLUMN } from '../src/store/keyRotation.js';
import { benchDatabase, seedAccounts } from './benchDatabase.js';

const N = Number(process.argv[2] ?? 10_000);
const RUNS = 3;
const DB = `ach_bench_${process.pid}`;
const key = randomBytes(32);

const { database, close } = await benchDatabase(DB);
try {
  const db = database.db;
  await seedAccounts(db, N);
  const cipher = new FieldCipher([{ id: 'bench', key }]);
  /** N bank payments: half online, half phone, checking and savings, as the payment path stores them. */
  const seedPayments = async (run: number) => {
    const ids: string[] = [];
    const blobs: Buffer[] = [];
    for (let i = 0; i < N; i++) {
      const id = `pay_${randomUUID().replaceAll('-', '')}`;
      ids.push(id);
      blobs.push(
        cipher.encrypt(`${run}${String(i).padStart(9, '0')}`, { column: BANK_ACCOUNT_COLUMN, rowId: id }).blob,
      );
    }
    await sql`
      insert into payments (id, status, channel, method, amount_cents, received_at, member_id, target,
                            bank_routing_number, bank_account_last4, bank_account_ciphertext, bank_account_key_id,
                            created_at, actor)
      select v.id, 'received', case when v.n % 2 = 0 then 'online' else 'phone' end,
             case when v.n % 3 = 0 then 'savings' else 'checking' end, 30000 + v.n, now(),
             (100000000000 + v.n)::text, '{}'::jsonb, '011000015', lpad((v.n % 10000)::text, 4, '0'), v.blob, 'bench',
             now(), 'bench'
      from unnest(${ids}::text[], ${blobs}::bytea[]) with ordinality as v(id, blob, n)`.execute(db);
    await sql`analyze payments`.execute(db);
  };

  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_ENCRYPTION_KEY: `bench:${key.toString('base64')}`,
    IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
    DEADLINE_SWEEP_INTERVAL_MS: '0',
  });
  const app = await buildApp({ config, database, clock: new ServiceClock(), logger: false });
  const { secret } = await new ApiKeyStore(db).create({ role: 'ops', carrierId: null, name: 'bench' });
  const seconds: number[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      await seedPayments(run);
      const started = performance.now();
      const res = await app.inject({
        method: 'POST',
        url: '/v1/ops/ach-files',
        headers: { authorization: `Bearer ${secret}` },
        payload: {},
      });
      seconds.push((performance.now() - started) / 1000);
      if (res.statusCode !== 201 || res.json().entryCount !== N)
        throw new Error(`run ${run}: ${res.statusCode} ${res.body}`);
      console.log(`  run ${run}: ${N} entries in ${(seconds.at(-1) as number).toFixed(3)} s`);
    }
  } finally {
    await app.close();
  }
  const median = [...seconds].sort((a, b) => a - b)[1] as number;
  console.log(`ACH file benchmark: ${N} entries per file, median of ${RUNS}: ${median.toFixed(3)} s (target < 2 s)`);
} finally {
  await close();
}
