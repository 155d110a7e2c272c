import { sql } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { newEnrollment, setClock } from '../helpers/factories.js';
import { fetchPayment } from '../helpers/safety.js';

t.test('a database connection killed under a running query fails that request, not the process', async (t) => {
  const ctx = await testApp(t);
  const dbName = (await sql<{ db: string }>`select current_database() as db`.execute(ctx.database.db)).rows[0]?.db;
  const killer = new pg.Client({ connectionString: `${process.env.TEST_DATABASE_SERVER_URL}/${dbName}` });
  await killer.connect();
  t.teardown(() => killer.end());
  // A slow query on one pooled connection, then that backend is terminated mid-query.
  const slow = sql`select pg_sleep(2)`.execute(ctx.database.db).then(
    () => 'finished',
    (err: { code?: string }) => err.code,
  );
  await new Promise((r) => setTimeout(r, 300));
  const killed = await killer.query(
    "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like '%pg_sleep(2)%' and pid <> pg_backend_pid()",
  );
  t.equal(killed.rowCount, 1, 'the busy backend was terminated');
  t.equal(await slow, '57P01', 'the query in flight fails with admin_shutdown');
  await new Promise((r) => setTimeout(r, 100));
  const after = await ctx.request({ method: 'GET', url: '/ready', key: null });
  t.equal(after.statusCode, 200, 'the process is still serving, with a fresh connection');
});

t.test('shutdown closes keep-alive connections of requests that finish during it', async (t) => {
  const ctx = await testApp(t);
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx);
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const address = ctx.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const dbName = (await sql<{ db: string }>`select current_database() as db`.execute(ctx.database.db)).rows[0]?.db;
  const locker = new pg.Client({ connectionString: `${process.env.TEST_DATABASE_SERVER_URL}/${dbName}` });
  await locker.connect();
  t.teardown(() => locker.end());
  await locker.query('begin');
  await locker.query('select id from enrollments where id = $1 for update', [e.id]);
  const inFlight = fetchPayment(port, ctx.opsKey, {
    channel: 'online',
    method: 'checking',
    amountCents: 100,
    enrollmentId: e.id,
    bankAccount: { routingNumber: '011000015', accountNumber: '123456789' },
  });
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const closing = ctx.app.close();
  await new Promise((r) => setTimeout(r, 100));
  await locker.query('commit');
  const res = await inFlight;
  t.equal(res.status, 201, 'the request in flight completes');
  t.equal(res.headers.get('connection'), 'close', 'and tells the client to close the connection');
  await closing;
  t.ok(Date.now() - started < 5_000, 'close does not wait for the keep-alive timeout');
});

t.test('a client that sends its request body too slowly is cut off', async (t) => {
  const ctx = await testApp(t, { env: { REQUEST_TIMEOUT_MS: '1000' } });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const address = ctx.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const { connect } = await import('node:net');
  const started = Date.now();
  const answer = await new Promise<string>((resolve) => {
    let data = '';
    const socket = connect(port, '127.0.0.1', () => {
      // Headers promise 100 bytes of body; only 10 ever arrive.
      socket.write(
        `POST /v1/carriers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ctx.opsKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":"sl`,
      );
    });
    socket.on('data', (chunk) => {
      data += chunk.toString();
    });
    socket.on('close', () => resolve(data));
    socket.setTimeout(8_000, () => socket.destroy());
  });
  // Node answers 408 while the headers are incomplete; once the handler has the request, it closes the socket.
  t.ok(
    answer === '' || /^HTTP\/1\.1 408/.test(answer),
    `connection ended without a handled answer: ${JSON.stringify(answer.slice(0, 40))}`,
  );
  t.notMatch(answer, /^HTTP\/1\.1 2/, 'no success for an incomplete request');
  const after = await ctx.request({ method: 'GET', url: '/health', key: null });
  t.equal(after.statusCode, 200, 'the service carries on');
  t.ok(Date.now() - started < 7_000, `within the timeout and the check interval (${Date.now() - started} ms)`);
});
