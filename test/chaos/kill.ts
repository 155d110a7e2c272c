/**
 * Check 1: the service is killed (SIGKILL) three times while a client sends 1,000 payments and
 * retries each with its own Idempotency-Key until it gets an answer. Every acknowledged (2xx)
 * payment must exist exactly once, and no key may have made two payments.
 *
 *   npm run build && DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx test/chaos/kill.ts
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { freePort, freshDatabase, OPS, paymentBody, type Service, startService } from './common.js';

const TOTAL = Number(process.env.CHAOS_PAYMENTS ?? 1000);
const KILLS = 3;
const CONCURRENCY = 10;
const db = await freshDatabase(`billing_chaos_kill_${process.pid}`, 100);
const port = await freePort();
let service: Service = await startService(db.url, port);

const acked = new Map<string, string>(); // idempotency key -> payment id
let retries = 0;
let refused = 0;
let done = 0;
const jobs = Array.from({ length: TOTAL }, (_, i) => ({
  key: randomUUID(),
  body: paymentBody(db.enrollmentIds[i % db.enrollmentIds.length] as string, 100 + (i % 7)),
}));

async function send(job: { key: string; body: string }) {
  for (;;) {
    try {
      const res = await fetch(`${service.base}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json', 'idempotency-key': job.key },
        body: job.body,
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 201) {
        const body = (await res.json()) as { id: string };
        acked.set(job.key, body.id);
        return;
      }
      if (res.status === 422 || res.status === 400) {
        refused++;
        return;
      }
      await res.arrayBuffer();
    } catch {
      // connection refused or reset while the service is down
    }
    retries++;
    await new Promise((r) => setTimeout(r, 50));
  }
}

let next = 0;
const workers = Array.from({ length: CONCURRENCY }, async () => {
  while (next < jobs.length) {
    const job = jobs[next++] as { key: string; body: string };
    await send(job);
    done++;
  }
});
const killer = (async () => {
  for (let k = 1; k <= KILLS; k++) {
    while (done < (TOTAL * k) / (KILLS + 1)) await new Promise((r) => setTimeout(r, 5));
    service.child.kill('SIGKILL');
    await service.exited;
    service = await startService(db.url, port);
  }
})();
const started = performance.now();
await Promise.all([...workers, killer]);
const seconds = (performance.now() - started) / 1000;

const c = new pg.Client({ connectionString: db.url });
await c.connect();
const payments = Number((await c.query('select count(*) from payments')).rows[0].count);
const keys = Number((await c.query('select count(*) from idempotency_keys')).rows[0].count);
const ids = new Set((await c.query('select id from payments')).rows.map((r) => r.id as string));
const missing = [...acked.values()].filter((id) => !ids.has(id)).length;
const duplicates = payments - acked.size;
await c.end();
service.child.kill('SIGTERM');
await service.exited;
await db.drop();

console.log(
  `kill check: ${TOTAL} payments, ${KILLS} SIGKILLs, ${retries} client retries, ${acked.size} acknowledged, ${refused} refused, ` +
    `${payments} in the database, ${keys} idempotency records, ${missing} acknowledged but missing, ${duplicates} duplicates, ${seconds.toFixed(1)} s`,
);
if (missing !== 0 || duplicates !== 0 || acked.size !== TOTAL) process.exit(1);
