/**
 * Check 4: graceful shutdown with 20 requests in flight. The 20 payments wait on a row lock held by
 * this script; the service gets SIGTERM; a later request is refused; the lock is released; all 20
 * must complete with 201 and the process must exit 0.
 *
 *   npm run build && DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx test/chaos/shutdown.ts
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { freePort, freshDatabase, OPS, paymentBody, startService } from './common.js';

const db = await freshDatabase(`billing_chaos_shutdown_${process.pid}`, 1);
const port = await freePort();
const service = await startService(db.url, port, {
  DATABASE_POOL_SIZE: '25',
  // The payments wait on this script's lock on purpose, longer than the default 5 s lock wait.
  DATABASE_LOCK_TIMEOUT_MS: '15000',
});
const enrollmentId = db.enrollmentIds[0] as string;

const locker = new pg.Client({ connectionString: db.url });
await locker.connect();
await locker.query('begin');
await locker.query('select id from enrollments where id = $1 for update', [enrollmentId]);

const post = () =>
  fetch(`${service.base}/v1/payments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: paymentBody(enrollmentId, 100),
  }).then(
    (r) => r.status,
    (e: Error) => `error: ${e.message}`,
  );
const inFlight = Array.from({ length: 20 }, post);
// Wait until all 20 are waiting on the lock inside PostgreSQL.
for (let i = 0; i < 100; i++) {
  const waiting = await locker.query(
    "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
  );
  if (Number(waiting.rows[0].count) >= 20) break;
  await new Promise((r) => setTimeout(r, 100));
}
service.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 300));
const later = await post();
await locker.query('commit');
await locker.end();
const statuses = await Promise.all(inFlight);
const code = await service.exited;
const c = new pg.Client({ connectionString: db.url });
await c.connect();
const stored = Number((await c.query('select count(*) from payments')).rows[0].count);
await c.end();
await db.drop();

const completed = statuses.filter((s) => s === 201).length;
console.log(
  `shutdown check: ${completed}/20 in-flight requests completed with 201${completed === 20 ? '' : ` (${statuses.join(' ')})`}, ${stored} stored; a request after SIGTERM got ${later}; exit code ${code}`,
);
if (completed !== 20 || stored !== 20 || code !== 0 || later === 201) process.exit(1);
