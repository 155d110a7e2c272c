import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import t from 'tap';
import { isDatabaseTimeout, isDatabaseUnavailable } from '../../src/store/errors.js';
import { type TestContext, testApp } from '../helpers/app.js';
import { newEnrollment, setClock } from '../helpers/factories.js';
import { bankAccount } from '../helpers/payments.js';
import { PROBLEM } from '../helpers/responses.js';
import { separateSession } from '../helpers/safety.js';

function pay(ctx: TestContext, enrollmentId: string, amountCents: number, key: string) {
  return ctx.request({
    method: 'POST',
    url: '/v1/payments',
    headers: { 'idempotency-key': key },
    payload: { channel: 'online', method: 'checking', amountCents, enrollmentId, ...bankAccount() },
  });
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** An enrollment whose binder is paid, so the carrier can confirm it. */
async function awaitingConfirmation(ctx: TestContext) {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx);
  const paid = await pay(ctx, e.id, 45000, randomUUID());
  if (paid.statusCode !== 201) throw new Error(`binder payment failed: ${paid.statusCode} ${paid.body}`);
  return e;
}

const LOCK_MS = 1000;
const MARGIN_MS = 1500;

t.test(
  'behind a held lock, a confirmation and a payment answer 503 with Retry-After within the lock timeout, and succeed once it is released',
  async (t) => {
    const ctx = await testApp(t, { env: { DATABASE_LOCK_TIMEOUT_MS: String(LOCK_MS) } });
    const e = await awaitingConfirmation(ctx);
    const lock = await separateSession(ctx, t);
    await lock.query('begin');
    await lock.query('select id from enrollments where id = $1 for update', [e.id]);

    const confirm = () =>
      ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/confirmation`, payload: { carrierPolicyId: 'P-1' } });
    const blocked = await timed(confirm);
    t.equal(blocked.value.statusCode, 503, `confirmation answers 503 (${blocked.value.body})`);
    t.match(blocked.value.headers['content-type'], PROBLEM);
    t.equal(blocked.value.json().code, 'database_timeout');
    t.ok(Number(blocked.value.headers['retry-after']) >= 1, 'with Retry-After');
    t.ok(blocked.ms < LOCK_MS + MARGIN_MS, `answered in ${Math.round(blocked.ms)} ms (lock timeout ${LOCK_MS} ms)`);

    const key = randomUUID();
    const blockedPayment = await timed(() => pay(ctx, e.id, 2500, key));
    t.equal(blockedPayment.value.statusCode, 503, 'a payment answers 503 too');
    t.equal(blockedPayment.value.json().code, 'database_timeout');
    t.ok(blockedPayment.value.headers['retry-after']);
    t.ok(blockedPayment.ms < LOCK_MS + MARGIN_MS, `answered in ${Math.round(blockedPayment.ms)} ms`);
    const written = await sql<{
      n: number;
    }>`select count(*)::int as n from payments where enrollment_id = ${e.id}`.execute(ctx.database.db);
    t.equal(written.rows[0]?.n, 1, 'the timed-out payment left nothing behind (only the binder payment exists)');

    await lock.query('commit');
    const retried = await pay(ctx, e.id, 2500, key);
    t.equal(retried.statusCode, 201, 'the retry with the same Idempotency-Key runs (a 503 is not remembered)');
    t.equal(retried.headers['idempotent-replayed'], undefined);
    const confirmed = await confirm();
    t.equal(confirmed.statusCode, 200, 'the confirmation succeeds once the lock is released');
    t.equal(confirmed.json().status, 'confirmed');
  },
);

t.test('a statement that runs past the statement timeout answers 503 database_timeout', async (t) => {
  const ctx = await testApp(t, {
    env: { DATABASE_LOCK_TIMEOUT_MS: '20000', DATABASE_STATEMENT_TIMEOUT_MS: String(LOCK_MS) },
  });
  const e = await awaitingConfirmation(ctx);
  const lock = await separateSession(ctx, t);
  await lock.query('begin');
  await lock.query('select id from enrollments where id = $1 for update', [e.id]);
  const blocked = await timed(() => pay(ctx, e.id, 2500, randomUUID()));
  await lock.query('rollback');
  t.equal(blocked.value.statusCode, 503);
  t.match(blocked.value.headers['content-type'], PROBLEM);
  t.equal(blocked.value.json().code, 'database_timeout');
  t.ok(blocked.value.headers['retry-after']);
  t.ok(blocked.ms < LOCK_MS + MARGIN_MS, `answered in ${Math.round(blocked.ms)} ms`);
});

t.test('a transaction left idle is ended by the server and its locks are released', async (t) => {
  const ctx = await testApp(t, { env: { DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '500' } });
  const e = await awaitingConfirmation(ctx);
  const stalled = ctx.database.db
    .transaction()
    .execute(async (trx) => {
      await sql`select id from enrollments where id = ${e.id} for update`.execute(trx);
      await new Promise((r) => setTimeout(r, 1500)); // a stuck process holding a transaction open
      await sql`select 1`.execute(trx);
      return 'committed';
    })
    .catch((err: Error & { code?: string }) => err);
  await new Promise((r) => setTimeout(r, 1000));
  const lock = await separateSession(ctx, t);
  await lock.query(`set lock_timeout = '200ms'`);
  const free = await lock.query('select id from enrollments where id = $1 for update nowait', [e.id]).then(
    () => true,
    () => false,
  );
  t.ok(free, 'the row lock was released by the server after the idle timeout');
  const outcome = await stalled;
  t.not(outcome, 'committed', 'the stalled transaction did not commit');
  // The server's 25P03 arrives while the client is idle (as a connection error); the next statement
  // then fails on the closed connection: an error the handler answers with 503 either way.
  t.ok(
    outcome instanceof Error && (isDatabaseTimeout(outcome) || isDatabaseUnavailable(outcome)),
    `it fails as a retryable database error: ${outcome}`,
  );
  t.equal((await ctx.request({ method: 'GET', url: '/ready', key: null })).statusCode, 200, 'the pool carries on');
});

t.test('the client-side query timeout gives up on an unanswered query and never reuses its connection', async (t) => {
  const ctx = await testApp(t, {
    env: { DATABASE_STATEMENT_TIMEOUT_MS: '10000', DATABASE_QUERY_TIMEOUT_MS: '500' },
  });
  const slow = await timed(() =>
    sql`select pg_sleep(3)`.execute(ctx.database.db).then(
      () => null,
      (err: Error) => err,
    ),
  );
  t.ok(slow.value && isDatabaseTimeout(slow.value), `the query fails as a timeout: ${slow.value?.message}`);
  t.ok(slow.ms < 500 + MARGIN_MS, `after ${Math.round(slow.ms)} ms`);
  for (let i = 0; i < 8; i++) {
    const quick = await timed(() => sql<{ one: number }>`select 1 as one`.execute(ctx.database.db));
    t.ok(quick.ms < 400, `query ${i} on the pool answers at once (${Math.round(quick.ms)} ms)`);
  }
});

t.test('PostgreSQL timeouts and the client timeout are classified as database timeouts', async (t) => {
  for (const code of ['57014', '55P03', '25P03']) t.ok(isDatabaseTimeout({ code }), code);
  t.ok(isDatabaseTimeout({ message: 'Query read timeout' }), 'pg client query_timeout');
  t.notOk(isDatabaseTimeout({ code: '23505' }), 'a unique violation is not');
  t.notOk(isDatabaseTimeout({ code: '40001' }), 'a serialization failure is not');
});

t.test('the limits reach every transaction also without startup parameters (as behind PgBouncer)', async (t) => {
  const show = async (db: Kysely<any>, name: string) =>
    (await sql<Record<string, string>>`${sql.raw(`show ${name}`)}`.execute(db)).rows[0]?.[name];
  const direct = await testApp(t, { env: { DATABASE_LOCK_TIMEOUT_MS: '1234' } });
  t.equal(await show(direct.database.db, 'lock_timeout'), '1234ms', 'startup parameters: also outside transactions');
  const pooled = await testApp(t, {
    env: {
      DATABASE_LOCK_TIMEOUT_MS: '1234',
      DATABASE_STARTUP_PARAMETERS: 'off',
      DATABASE_STATEMENT_TIMEOUT_MS: '4321',
    },
  });
  t.equal(
    await show(pooled.database.db, 'lock_timeout'),
    '0',
    'no startup parameters: the session keeps the server default',
  );
  const inside = await pooled.database.db.transaction().execute(async (trx) => ({
    lock: await show(trx, 'lock_timeout'),
    statement: await show(trx, 'statement_timeout'),
    idle: await show(trx, 'idle_in_transaction_session_timeout'),
  }));
  t.same(inside, { lock: '1234ms', statement: '4321ms', idle: '10s' }, 'but every transaction sets its own');
  const serializable = await pooled.database.db
    .transaction()
    .setIsolationLevel('serializable')
    .execute((trx) => show(trx, 'lock_timeout'));
  t.equal(serializable, '1234ms', 'also with an isolation level');
  t.equal(await show(pooled.database.db, 'lock_timeout'), '0', 'and nothing leaks into the session');
});
