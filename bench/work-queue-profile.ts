/**
 * Service CPU per carrier work-queue page (issue 16): seeds the work queue as `npm run bench` does
 * (every 4th enrollment awaiting confirmation with its paid binder, 5 carriers), builds the app
 * in-process and reads `GET /v1/enrollments?status=awaiting_confirmation&limit=100` as carrier-1
 * with `app.inject`, C at a time, after a warm-up; prints the process CPU (user + system) and the
 * wall time per page, three rounds. No sockets: `writev` and the HTTP parser are not in the figure.
 *
 *   npx tsx bench/work-queue-profile.ts postgres://root@127.0.0.1:5432/postgres [pages=400] [concurrency=10] [database]
 *
 * `node --cpu-prof --import tsx bench/work-queue-profile.ts ...` profiles the same loop. The database
 * (default `work_queue_profile_<pid>`) is created and dropped by the script.
 */
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { businessDateOf } from '../src/domain/dates.js';
import { earliestCoverageStart, paymentDueDate } from '../src/domain/deadlines.js';
import { ServiceClock } from '../src/infra/clock.js';
import { createDatabase } from '../src/infra/db.js';
import { migrateToLatest } from '../src/infra/migrate.js';
import { ApiKeyStore } from '../src/store/apiKeys.js';
import { testConfig } from '../test/helpers/app.js';
import { admin, serverOf } from '../test/helpers/serverAdmin.js';
import { seedWorkQueue } from './benchDatabase.js';

const [url, pagesText, cText, dbName] = process.argv.slice(2);
if (!url) throw new Error('usage: work-queue-profile.ts <server url> [pages] [concurrency] [database]');
const PAGES = Number(pagesText ?? 400);
const C = Number(cText ?? 10);
const N = 20_000;
const { server, adminDb } = serverOf(url);
const DB = dbName ?? `work_queue_profile_${process.pid}`;

await admin(`${server}/${adminDb}`, `drop database if exists ${DB} with (force)`);
await admin(`${server}/${adminDb}`, `create database ${DB}`);
const database = createDatabase(`${server}/${DB}`, pino({ level: 'silent' }), 20);
try {
  await migrateToLatest(database.db);
  const seed = new pg.Client({ connectionString: `${server}/${DB}` });
  await seed.connect();
  const start = earliestCoverageStart(businessDateOf(new Date()));
  await seedWorkQueue(seed, N, start, paymentDueDate(start));
  await seed.end();

  const config = testConfig({
    DEADLINE_SWEEP_INTERVAL_MS: '0',
    ALLOW_TEST_CLOCK: 'false',
    RATE_LIMIT_PER_MINUTE: '10000000',
  });
  const app = await buildApp({ config, database, clock: new ServiceClock(), logger: false });
  const { secret } = await new ApiKeyStore(database.db).create({
    role: 'carrier',
    carrierId: 'carrier-1',
    name: 'profile',
  });
  const page = async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/enrollments?status=awaiting_confirmation&limit=100',
      headers: { authorization: `Bearer ${secret}` },
    });
    if (res.statusCode !== 200) throw new Error(`page: ${res.statusCode} ${res.body}`);
    return res.body.length;
  };
  const loop = async (n: number) => {
    let next = 0;
    let bytes = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next++ < n) bytes = await page();
      }),
    );
    return bytes;
  };
  await loop(200); // warm-up
  for (let round = 1; round <= 3; round++) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const bytes = await loop(PAGES);
    const wall = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    process.stdout.write(
      `round ${round}: ${PAGES} pages of ${bytes} bytes, ${C} at a time: service CPU ${((used.user + used.system) / 1000 / PAGES).toFixed(2)} ms per page (user ${(used.user / 1000 / PAGES).toFixed(2)}), wall ${(wall / PAGES).toFixed(2)} ms per page\n`,
    );
  }
  await app.close();
} finally {
  await database.close();
  await admin(`${server}/${adminDb}`, `drop database if exists ${DB} with (force)`);
}
