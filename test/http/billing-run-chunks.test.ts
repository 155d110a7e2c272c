import { sql } from 'kysely';
import t from 'tap';
import { monthlyInvoices } from '../../src/domain/billing.js';
import { massachusettsCalendar } from '../../src/domain/calendar.js';
import type { IsoDate } from '../../src/domain/dates.js';
import { BILLABLE_STATUSES } from '../../src/domain/enrollment.js';
import { BILLING_RUN_CHUNK, BillingService } from '../../src/services/billing.js';
import { InvoiceStore } from '../../src/store/invoices.js';
import { Stores } from '../../src/store/stores.js';
import { testApp } from '../helpers/app.js';
import { type BillingRunJson, billingRun, enrollmentRow, eventsOf, setCredit } from '../helpers/billing.js';
import { markPaidInFull, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';

// R16 with billing runs committed chunk by chunk: a run that stopped half way (some chunks committed)
// is finished by running it again, each invoice exactly once; and the invoices' single foreign key
// (enrollment, member) refuses an invoice whose member is not its enrollment's.
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Chunked Health Plan' });

t.test('a run that stopped after its first chunk is completed by running it again, exactly once (R16)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const enrollments = [];
  for (let i = 0; i < 3; i++) {
    const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
    await markPaidInFull(ctx, e.id, '2026-12-15T15:00:00Z', '2026-12-22');
    enrollments.push(e);
  }
  const [first, second] = enrollments;
  if (!first || !second) throw new Error('no enrollments');
  await setCredit(ctx, first.id, 5000);
  await setCredit(ctx, second.id, 7000);
  await setClock(ctx, '2027-01-10T10:00:00-05:00');

  // The interrupted run: only the chunk holding the first enrollment committed.
  const seq = Number((await enrollmentRow(ctx, first.id)).seq);
  const month = '2027-02-01' as IsoDate;
  const partial = await ctx.database.db.transaction().execute(async (trx) => {
    const invoices = new InvoiceStore(trx);
    const range = { afterSeq: seq - 1, toSeq: seq };
    await invoices.lockBillingRuns(Math.floor(range.afterSeq / BILLING_RUN_CHUNK));
    const locked = await invoices.lockBillable(month, BILLABLE_STATUSES, range);
    return invoices.insertMonthly(monthlyInvoices(locked, month), new Date());
  });
  t.equal(partial.issuedCount, 1);
  t.equal(partial.creditAppliedCents, 5000);

  const res = await billingRun(ctx, month);
  t.equal(res.statusCode, 201, res.body);
  const run = res.json() as BillingRunJson;
  t.ok(run.issuedCount >= 2, 'the second run issues the rest');
  for (const e of enrollments) {
    const rows = await ctx.database.db
      .selectFrom('invoices')
      .select(['id', 'credit_applied_cents'])
      .where('enrollment_id', '=', e.id)
      .where('coverage_month', '=', month)
      .execute();
    t.equal(rows.length, 1, `one February invoice for ${e.id}`);
    const events = (await eventsOf(ctx, e.id, 'invoice.issued')).filter((ev) => ev.invoice_id === rows[0]?.id);
    t.equal(events.length, 1, 'and one invoice.issued event');
  }
  const creditOf = async (id: string) =>
    (
      await ctx.database.db
        .selectFrom('invoices')
        .select('credit_applied_cents')
        .where('enrollment_id', '=', id)
        .where('coverage_month', '=', month)
        .executeTakeFirstOrThrow()
    ).credit_applied_cents;
  t.equal(await creditOf(first.id), 5000, 'credit applied once, by the interrupted run');
  t.equal(await creditOf(second.id), 7000, 'credit applied by the second run');
  t.equal(Number((await enrollmentRow(ctx, first.id)).credit_cents), 0);
  t.equal(Number((await enrollmentRow(ctx, second.id)).credit_cents), 0);

  const again = (await billingRun(ctx, month)).json() as BillingRunJson;
  t.equal(again.issuedCount, 0, 'a third run issues nothing');
});

t.test("an invoice whose member is not its enrollment's is refused by the foreign key", async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const a = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const b = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const insert = (memberId: string) =>
    sql`insert into invoices (enrollment_id, member_id, coverage_month, due_date, amount_due_cents, delivery, issued_at)
        values (${a.id}, ${memberId}, '2027-03-01', '2027-02-23', 100, 'mail', now())`.execute(ctx.database.db);
  await t.rejects(insert(b.memberId), { code: '23503' }, "another member's id");
  await t.rejects(insert('999999999999'), { code: '23503' }, 'a member that does not exist');
  await t.resolves(insert(a.memberId), "the enrollment's own member");
});

t.test(
  'chunks run two at a time: two concurrent runs still issue each invoice and apply each credit once',
  async (t) => {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const enrollments = [];
    for (let i = 0; i < 9; i++) {
      const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
      await markPaidInFull(ctx, e.id, '2026-12-15T15:00:00Z', '2026-12-22');
      if (i % 3 === 0) await setCredit(ctx, e.id, 1000 + i);
      enrollments.push(e);
    }
    await setClock(ctx, '2027-02-10T10:00:00-05:00');
    // Chunks of 2 enrollments, so both workers of each run have several chunks to take.
    const billing = new BillingService(new Stores(ctx.database.db), ctx.clock, massachusettsCalendar, {
      billingRunChunk: 2,
    });
    const month = '2027-03-01' as IsoDate;
    const principal = { keyId: 'test', role: 'ops' as const, carrierId: null };
    const marchInvoices = async () =>
      Number(
        (
          await ctx.database.db
            .selectFrom('invoices')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('coverage_month', '=', month)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await marchInvoices();
    const [a, b] = await Promise.all([billing.runBilling(month, principal), billing.runBilling(month, principal)]);
    const ours = new Set(enrollments.map((e) => e.id));
    const rows = await ctx.database.db
      .selectFrom('invoices')
      .select(['id', 'enrollment_id', 'credit_applied_cents'])
      .where('coverage_month', '=', month)
      .execute();
    const mine = rows.filter((r) => ours.has(r.enrollment_id));
    t.equal(mine.length, 9, 'one March invoice per enrollment');
    t.equal(new Set(mine.map((r) => r.enrollment_id)).size, 9, 'never two for one enrollment');
    t.equal(a.issuedCount + b.issuedCount, rows.length - before, 'the two runs together issued each invoice once');
    for (const [i, e] of enrollments.entries()) {
      const row = mine.find((r) => r.enrollment_id === e.id);
      t.equal(Number(row?.credit_applied_cents), i % 3 === 0 ? 1000 + i : 0, `credit of ${e.id} applied once`);
      t.equal(Number((await enrollmentRow(ctx, e.id)).credit_cents), 0, 'and taken off the enrollment');
      const events = (await eventsOf(ctx, e.id, 'invoice.issued')).filter((ev) => ev.invoice_id === row?.id);
      t.equal(events.length, 1, 'one invoice.issued event');
    }
  },
);
