import pg from 'pg';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { billingRun, cancelEnrollment, getEnrollment, invoicesOfEnrollment } from '../helpers/billing.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { bankAccount, payOk, returnPayment } from '../helpers/payments.js';
import { currentDatabase, moneyViolations } from '../helpers/safety.js';

// Issue 11 item 3 (I2, I3, R16): a billing-run chunk decides on the committed state of each
// enrollment it bills. Each test forces the bad interleaving deterministically: a separate session
// holds a table lock that a writer (cancellation, payment, return) needs only AFTER it has changed
// the enrollment row, so that writer sits uncommitted while the run starts; the lock is released
// once the run has finished (old code) or is waiting for the enrollment (new code).
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Racing Health Plan' });
const dbName = await currentDatabase(ctx);
const server = process.env.TEST_DATABASE_SERVER_URL as string;

/** A session of its own that holds `lock table <table> in share mode` until released. */
async function holdTableLock(table: string) {
  const client = new pg.Client({ connectionString: `${server}/${dbName}` });
  await client.connect();
  await client.query('begin');
  await client.query(`lock table ${table} in share mode`);
  return {
    release: async () => {
      await client.query('commit');
      await client.end();
    },
  };
}

/** Backends of this test database waiting for a lock. */
async function lockWaiters(): Promise<number> {
  const client = new pg.Client({ connectionString: `${server}/${dbName}` });
  await client.connect();
  try {
    const r = await client.query(
      `select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`,
      [dbName],
    );
    return r.rows[0].n as number;
  } finally {
    await client.end();
  }
}

/** Resolves once `n` backends wait for a lock, or `done()` says the racing work already finished. */
async function untilWaiting(n: number, done: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (done() || (await lockWaiters()) >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${n} lock waiters`);
}

function settled<T>(p: Promise<T>) {
  const state = { done: false };
  p.finally(() => {
    state.done = true;
  }).catch(() => {});
  return { promise: p, done: () => state.done };
}

const bank = (amountCents: number, enrollmentId: string) => ({
  channel: 'online',
  method: 'checking',
  amountCents,
  enrollmentId,
  ...bankAccount(),
});

/** An enrollment starting 2027-01-01 whose binder was paid in full on 2026-12-05 (awaiting confirmation). */
async function paidEnrollment() {
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const payment = await payOk(ctx, bank(45000, e.id));
  return { e, payment };
}

/** The run for `month` racing `writer`, which is held uncommitted after changing the enrollment. */
async function race(table: string, writer: () => Promise<{ statusCode: number; body: string }>, month: string) {
  const hold = await holdTableLock(table);
  let w: ReturnType<typeof settled<{ statusCode: number; body: string }>>;
  let run: ReturnType<typeof settled<{ statusCode: number; body: string }>>;
  try {
    w = settled(writer());
    await untilWaiting(1, w.done); // the writer changed the enrollment and now waits for `table`
    run = settled(billingRun(ctx, month));
    await untilWaiting(2, run.done); // the run finished (old code) or waits for the enrollment (new)
  } finally {
    await hold.release();
  }
  const [wr, rr] = await Promise.all([w.promise, run.promise]);
  return { writer: wr, run: rr };
}

t.test('I2: a cancellation racing a billing run leaves no open invoice on the cancelled enrollment', async (t) => {
  const { e } = await paidEnrollment();
  await setClock(ctx, '2027-01-05T10:00:00-05:00');
  const { writer, run } = await race(
    'enrollment_history',
    () => cancelEnrollment(ctx, e.id, { reason: 'moved out of state' }),
    '2027-02-01',
  );
  t.equal(writer.statusCode, 200, `writer answered ${writer.statusCode}`);
  t.equal(run.statusCode, 201, `run answered ${run.statusCode}`);
  const view = await getEnrollment(ctx, e.id);
  t.equal(view.status, 'cancelled');
  const invoices = await invoicesOfEnrollment(ctx, e.id);
  t.same(
    invoices.filter((i) => i.status === 'open' || i.status === 'partially_paid').map((i) => i.coverageMonth),
    [],
    'no open or partially paid invoice on a cancelled enrollment',
  );
  // A check with the February slip, had one been issued, would now take money: it must not.
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money invariants hold');
});

t.test('I3: an overpayment racing a billing run: the run applies the new credit to the new invoice', async (t) => {
  const { e } = await paidEnrollment();
  await setClock(ctx, '2027-01-05T10:00:00-05:00');
  // The binder is paid, so all 10,000 cents become credit; the payment waits for the idempotency table.
  const { writer, run } = await race('idempotency_keys', () => payOkRaw(bank(10000, e.id)), '2027-02-01');
  t.equal(writer.statusCode, 201, `writer answered ${writer.statusCode}`);
  t.equal(run.statusCode, 201, `run answered ${run.statusCode}`);
  const view = await getEnrollment(ctx, e.id);
  const feb = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === '2027-02-01');
  t.ok(feb, 'February was billed');
  t.equal(view.creditCents, 0, 'no credit left beside a balance');
  t.equal(feb?.amountPaidCents, 10000, 'the credit paid February');
  t.equal(feb?.balanceCents, 35000);
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money invariants hold');
});

t.test(
  'R16: a return that reopens the binder racing a billing run: the pending enrollment is not billed',
  async (t) => {
    const { e, payment } = await paidEnrollment();
    await setClock(ctx, '2026-12-15T10:00:00-05:00'); // before the binder's due date (2026-12-23)
    const { writer, run } = await race(
      'enrollment_history',
      () => returnPayment(ctx, payment.id, { reasonCode: 'R01' }),
      '2027-02-01',
    );
    t.equal(writer.statusCode, 201, `writer answered ${writer.statusCode}`);
    t.equal(run.statusCode, 201, `run answered ${run.statusCode}`);
    const view = await getEnrollment(ctx, e.id);
    t.equal(view.status, 'pending_payment');
    const live = (await invoicesOfEnrollment(ctx, e.id)).filter((i) => i.status !== 'void');
    t.same(
      live.map((i) => [i.coverageMonth, i.binder]),
      [['2027-01-01', true]],
      'only the binder is live: a pending enrollment is not billed',
    );
    t.same(await moneyViolations(ctx, [e.memberId]), [], 'money invariants hold');
  },
);

function payOkRaw(body: Record<string, unknown>) {
  return ctx.request({
    method: 'POST',
    url: '/v1/payments',
    payload: body,
    headers: { 'idempotency-key': crypto.randomUUID() },
  });
}
