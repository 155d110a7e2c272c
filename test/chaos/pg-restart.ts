/**
 * Check 2: PostgreSQL is stopped in immediate mode (SIGQUIT to the postmaster) during load and
 * started again 3 s later. The service must stay up, answer 503 problem+json while the database is
 * away, be ready again within 5 s of the database's return, and lose no acknowledged payment.
 * Uses its own embedded PostgreSQL (.data/pg-chaos), so it never touches a shared server.
 *
 *   npm run build && npx tsx test/chaos/pg-restart.ts
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/infra/embedded.js';
import { freePort, freshDatabase, OPS, paymentBody, ROOT, startService } from './common.js';

const dataDir = path.join(ROOT, '.data/pg-chaos');
const pgPort = 54350;
let embedded = await startEmbeddedPostgres({ dataDir, port: pgPort });
process.env.DATABASE_URL = embedded.urlFor('postgres');
const db = await freshDatabase('billing_chaos_restart', 20);
const service = await startService(db.url, await freePort());

const acked = new Map<string, string>();
const statuses = new Map<string, number>();
let problemJson = 0;
let stop = false;
const load = Promise.all(
  Array.from({ length: 4 }, async (_, w) => {
    let i = 0;
    while (!stop) {
      const key = randomUUID();
      const res = await fetch(`${service.base}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: paymentBody(db.enrollmentIds[(w * 1000 + i++) % db.enrollmentIds.length] as string, 100),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => null);
      const label = res ? String(res.status) : 'no answer';
      statuses.set(label, (statuses.get(label) ?? 0) + 1);
      if (res?.status === 201) acked.set(key, ((await res.json()) as { id: string }).id);
      else if (res) {
        if ((res.headers.get('content-type') ?? '').startsWith('application/problem+json')) problemJson++;
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }),
);

await new Promise((r) => setTimeout(r, 2_000));
const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
process.kill(postmaster, 'SIGQUIT'); // immediate shutdown
await new Promise((r) => setTimeout(r, 3_000));
const downStatus = await fetch(`${service.base}/ready`).then((r) => r.status);
embedded = await startEmbeddedPostgres({ dataDir, port: pgPort });
const back = Date.now();
let recoveredMs = Number.NaN;
while (Date.now() - back < 30_000) {
  const ok = await fetch(`${service.base}/ready`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) {
    recoveredMs = Date.now() - back;
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
await new Promise((r) => setTimeout(r, 2_000));
stop = true;
await load;
const alive = service.child.exitCode === null;

const c = new pg.Client({ connectionString: db.url });
await c.connect();
const ids = new Set((await c.query('select id from payments')).rows.map((r) => r.id as string));
await c.end();
service.child.kill('SIGTERM');
await service.exited;
await db.drop();
await embedded.stop();

const lost = [...acked.values()].filter((id) => !ids.has(id)).length;
console.log(
  `pg-restart check: process ${alive ? 'stayed up' : 'DIED'}; /ready while the database was down: ${downStatus}; ` +
    `ready again ${recoveredMs} ms after the database returned; answers ${JSON.stringify(Object.fromEntries(statuses))}, ` +
    `${problemJson} problem+json errors; ${acked.size} acknowledged, ${lost} lost`,
);
if (!alive || downStatus !== 503 || !(recoveredMs <= 5_000) || lost !== 0) process.exit(1);
