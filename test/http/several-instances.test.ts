/**
 * Two instances of the service on one database (issue 16, SPEC "Running it"): the test clock and the
 * rate limits behave as with one instance. The cluster script (npm run cluster) proves the same
 * through a load balancer and PgBouncer; these run in every `npm test`.
 */
import { sql } from 'kysely';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { leaseSize } from '../../src/http/plugins/rateLimitStore.js';
import { createDatabase } from '../../src/infra/db.js';
import { anotherInstance, testApp, testConfig } from '../helpers/app.js';
import { markPaidInFull, newCarrier, newEnrollment } from '../helpers/factories.js';

t.test('the test clock set through one instance is the clock of the other before the change answers', async (t) => {
  const a = await testApp(t);
  const b = await anotherInstance(t, a);
  const set = await a.request({ method: 'PUT', url: '/v1/ops/clock', payload: { now: '2027-01-23T12:00:00-05:00' } });
  t.equal(set.statusCode, 200);
  t.equal(b.clock.now().toISOString(), '2027-01-23T17:00:00.000Z', 'taken by the other listener, acknowledged');
  const read = await b.request({ method: 'GET', url: '/v1/payment-channels' });
  t.equal(read.statusCode, 200);
  t.equal(b.clock.now().toISOString(), '2027-01-23T17:00:00.000Z');

  const reset = await b.request({ method: 'DELETE', url: '/v1/ops/clock' });
  t.equal(reset.statusCode, 204);
  t.notOk(a.clock.frozen, 'reset through the other instance: real time again here');
  t.ok(Math.abs(a.clock.now().getTime() - Date.now()) < 5_000);
});

t.test('an instance without a listener reads the shared clock before each request', async (t) => {
  const a = await testApp(t);
  const b = await anotherInstance(t, a, { env: { API_KEY_CACHE: 'off' } });
  const set = await a.request({ method: 'PUT', url: '/v1/ops/clock', payload: { now: '2027-03-01T15:00:00Z' } });
  t.equal(set.statusCode, 200);
  t.notOk(b.clock.frozen, 'nothing reached it yet: it has no listener');
  t.equal((await b.request({ method: 'GET', url: '/v1/payment-channels' })).statusCode, 200);
  t.equal(b.clock.now().toISOString(), '2027-03-01T15:00:00.000Z', 'read at its next request');
  await a.request({ method: 'DELETE', url: '/v1/ops/clock' });
  await b.request({ method: 'GET', url: '/v1/payment-channels' });
  t.notOk(b.clock.frozen);
});

t.test('a listener that starts after the clock was set takes it before serving', async (t) => {
  const a = await testApp(t);
  const set = await a.request({ method: 'PUT', url: '/v1/ops/clock', payload: { now: '2027-04-01T15:00:00Z' } });
  t.equal(set.statusCode, 200);
  const b = await anotherInstance(t, a);
  t.equal(b.clock.now().toISOString(), '2027-04-01T15:00:00.000Z');
});

t.test('a clock change whose read failed at the listener is read by the next request', async (t) => {
  // Noticed in the issue-16 black-box run: an instance whose listener came back before its database
  // could be read kept its last test clock until the next change (the failed read was only logged).
  const a = await testApp(t);
  const b = await anotherInstance(t, a);
  const db = a.database.db;
  await sql`alter table test_clock rename to test_clock_away`.execute(db);
  let renamed = true;
  t.teardown(async () => {
    if (renamed) await sql`alter table test_clock_away rename to test_clock`.execute(db);
  });
  // A change is announced while the clock cannot be read: every listener's read fails.
  await sql`select pg_notify('service_clock_changed', 'missed-change')`.execute(db);
  await new Promise((r) => setTimeout(r, 500));
  t.notOk(b.clock.frozen, 'the failed read left the clock as it was');
  await sql`alter table test_clock_away rename to test_clock`.execute(db);
  renamed = false;
  await sql`insert into test_clock (frozen_at) values ('2027-05-03T14:00:00Z')`.execute(db);
  t.equal((await b.request({ method: 'GET', url: '/v1/payment-channels' })).statusCode, 200);
  t.equal(b.clock.now().toISOString(), '2027-05-03T14:00:00.000Z', 'the next request read it');
});

t.test('the per-key rate limit holds for the sum over two instances', async (t) => {
  const env = { RATE_LIMIT_PER_MINUTE: '10' };
  const a = await testApp(t, { env });
  const b = await anotherInstance(t, a, { env });
  const statuses: number[] = [];
  for (let i = 0; i < 14; i++) {
    const res = await (i % 2 === 0 ? a : b).request({ method: 'GET', url: '/v1/payment-channels' });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) {
      t.equal(res.json().code, 'rate_limited');
      t.ok(Number(res.headers['retry-after']) > 0);
    }
  }
  t.same(statuses, [...Array(10).fill(200), 429, 429, 429, 429], 'ten in all, whichever instance served them');
  const other = await a.newKey('connector');
  const fresh = await b.request({ method: 'GET', url: '/v1/payment-channels', key: other.secret });
  t.equal(fresh.statusCode, 200, 'each API key keeps its own budget');
});

t.test(
  'leased windows: concurrent requests on two instances never exceed the limit, and under-admit by at most a lease each',
  async (t) => {
    const max = 400;
    const env = { RATE_LIMIT_PER_MINUTE: String(max) };
    const a = await testApp(t, { env });
    const b = await anotherInstance(t, a, { env });
    t.equal(leaseSize(max), 4);
    let admitted = 0;
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0 ? a : b).request({ method: 'GET', url: '/v1/payment-channels' }),
        ),
      );
      admitted += answers.filter((r) => r.statusCode === 200).length;
      t.ok(
        answers.every((r) => r.statusCode === 200 || r.statusCode === 429),
        'every answer is 200 or 429',
      );
    }
    t.ok(admitted <= max, `admitted ${admitted} of 500, at most ${max}`);
    t.ok(admitted >= max - 2 * (leaseSize(max) - 1), `admitted ${admitted}: at least ${max} - 2 x (lease - 1)`);
    const { rows } = await a.database.pool.query<{ used: number }>(
      `select used from rate_limit_leases where key like 'rate:%'`,
    );
    t.equal(rows[0]?.used, max, 'the shared window is spent exactly');
  },
);

t.test('failed authentications are counted over both instances too', async (t) => {
  const env = { AUTH_FAILURES_PER_MINUTE: '3' };
  const a = await testApp(t, { env });
  const b = await anotherInstance(t, a, { env });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await (i % 2 === 0 ? a : b).request({
      method: 'GET',
      url: '/v1/carriers',
      key: 'cpb_wrongwrongwrongwrongwrong',
    });
    statuses.push(res.statusCode);
  }
  t.same(statuses, [401, 401, 401, 429]);
  t.equal((await b.request({ method: 'GET', url: '/v1/carriers' })).statusCode, 200, 'a valid key still passes');
});

t.test('RATE_LIMIT_STORE=memory counts per process (one instance only)', async (t) => {
  const env = { RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_STORE: 'memory' };
  const a = await testApp(t, { env });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++)
    statuses.push((await a.request({ method: 'GET', url: '/v1/payment-channels' })).statusCode);
  t.same(statuses, [200, 200, 429]);
  const { rows } = await a.database.pool.query('select 1 from rate_limit_leases');
  t.equal(rows.length, 0, 'nothing written to the shared table');
});

t.test('the shared store falls back to counting in memory when its window cannot be leased', async (t) => {
  const env = { RATE_LIMIT_PER_MINUTE: '2' };
  const a = await testApp(t, { env });
  await a.database.pool.query('alter table rate_limit_leases rename to rate_limit_leases_away');
  t.teardown(() => a.database.pool.query('alter table rate_limit_leases_away rename to rate_limit_leases'));
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++)
    statuses.push((await a.request({ method: 'GET', url: '/v1/payment-channels' })).statusCode);
  t.same(statuses, [200, 200, 429], 'the limit still holds in this process');
});

t.test(
  'DATABASE_REPLICA_URL: the overdue-confirmations report reads the replica; reads by id stay on the primary',
  async (t) => {
    const primary = await testApp(t);
    // Another database stands for the replica: what only it holds shows which pool a read used.
    const standby = await testApp(t);
    const carrier = await newCarrier(standby);
    const e = await newEnrollment(standby, { carrierId: carrier.id, coverageStart: '2027-01-01' });
    await markPaidInFull(standby, e.id, '2026-12-01T15:00:00Z', '2026-12-08');
    const app = await buildApp({
      config: testConfig(),
      database: primary.database,
      replica: standby.database,
      logger: false,
      apiKeyCache: false,
    });
    t.teardown(() => app.close());
    const headers = { authorization: `Bearer ${primary.opsKey}` };
    const set = await app.inject({
      method: 'PUT',
      url: '/v1/ops/clock',
      headers,
      payload: { now: '2026-12-22T14:00:00Z' },
    });
    t.equal(set.statusCode, 200);
    const report = await app.inject({ method: 'GET', url: '/v1/ops/overdue-confirmations', headers });
    t.equal(report.statusCode, 200);
    t.same(
      report.json().data.map((x: { id: string }) => x.id),
      [e.id],
      "the report is the replica's",
    );
    const byId = await app.inject({ method: 'GET', url: `/v1/enrollments/${e.id}`, headers });
    t.equal(byId.statusCode, 404, "a read by id is the primary's");
  },
);

t.test('an unreachable replica: the report answers 503 database_unavailable, everything else is served', async (t) => {
  const primary = await testApp(t);
  const config = testConfig();
  const dead = createDatabase('postgres://root@127.0.0.1:1/none', pino({ level: 'silent' }), 1, config.databaseLimits);
  const app = await buildApp({ config, database: primary.database, replica: dead, logger: false, apiKeyCache: false });
  t.teardown(async () => {
    await app.close();
    await dead.close();
  });
  const headers = { authorization: `Bearer ${primary.opsKey}` };
  const report = await app.inject({ method: 'GET', url: '/v1/ops/overdue-confirmations', headers });
  t.equal(report.statusCode, 503);
  t.equal(report.json().code, 'database_unavailable');
  t.equal((await app.inject({ method: 'GET', url: '/v1/carriers', headers })).statusCode, 200);
});
