/**
 * Check 3: connections killed under the service (`pg_terminate_backend` on its backends, every few
 * milliseconds, so some land during COMMIT) while a client sends payments and retries with the same
 * Idempotency-Key. No 2xx may be sent for a payment that is not in the database, and no key may make
 * two payments.
 *
 *   npm run build && DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx test/chaos/terminate.ts
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { freePort, freshDatabase, OPS, paymentBody, startService } from './common.js';

const TOTAL = Number(process.env.CHAOS_PAYMENTS ?? 300);
const db = await freshDatabase(`billing_chaos_term_${process.pid}`, 50);
const port = await freePort();
const service = await startService(db.url, port);

const acked = new Map<string, string>();
let failures = 0;
let done = false;
const killer = new pg.Client({ connectionString: db.url });
await killer.connect();
let terminated = 0;
const killing = (async () => {
  while (!done) {
    const r = await killer.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and application_name = 'premium-billing' and state <> 'idle'
        order by random() limit 1`,
    );
    terminated += r.rowCount ?? 0;
    await new Promise((res) => setTimeout(res, 10 + Math.random() * 40));
  }
})();

const jobs = Array.from({ length: TOTAL }, (_, i) => ({
  key: randomUUID(),
  body: paymentBody(db.enrollmentIds[i % db.enrollmentIds.length] as string, 100),
}));
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as { key: string; body: string };
      for (let attempt = 0; attempt < 200; attempt++) {
        const res = await fetch(`${service.base}/v1/payments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json', 'idempotency-key': job.key },
          body: job.body,
          signal: AbortSignal.timeout(10_000),
        }).catch(() => null);
        if (res?.status === 201) {
          acked.set(job.key, ((await res.json()) as { id: string }).id);
          break;
        }
        failures++;
        const text = res ? await res.text() : 'no response';
        if (failures <= 3 && process.env.CHAOS_VERBOSE) console.error(res?.status, text.slice(0, 300));
      }
    }
  }),
);
done = true;
await killing;
const ids = new Set((await killer.query('select id from payments')).rows.map((r) => r.id as string));
const stored = ids.size;
await killer.end();
service.child.kill('SIGTERM');
await service.exited;
await db.drop();

const phantom = [...acked.values()].filter((id) => !ids.has(id)).length;
const duplicates = stored - acked.size;
console.log(
  `terminate check: ${TOTAL} payments, ${terminated} backends terminated, ${failures} failed attempts retried, ` +
    `${acked.size} acknowledged, ${stored} stored, ${phantom} acknowledged but not stored, ${duplicates} duplicates`,
);
if (phantom !== 0 || duplicates !== 0 || acked.size !== TOTAL) process.exit(1);
