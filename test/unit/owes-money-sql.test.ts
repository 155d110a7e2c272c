import pino from 'pino';
import t from 'tap';
import type { IsoDate } from '../../src/domain/dates.js';
import { type Invoice, invoiceStatus, owesMoney } from '../../src/domain/invoice.js';
import { createDatabase } from '../../src/infra/db.js';
import { EnrollmentStore } from '../../src/store/enrollments.js';
import { cloneTemplate } from '../helpers/db.js';

// "Owes money" (R21, R22) and invoice status (R15) are decided by the domain (`owesMoney`,
// `invoiceStatus`); the store's SQL filters and the generated `invoices.status` column mirror them.
// Each row is one enrollment with its invoices, written to a real database: the SQL must agree with
// the domain on every row.
type Sums = Pick<Invoice, 'amountDueCents' | 'amountPaidCents' | 'voidedAt'>;
const VOIDED = new Date('2027-01-10T12:00:00Z');
const inv = (amountDueCents: number, amountPaidCents: number, voided = false): Sums => ({
  amountDueCents,
  amountPaidCents,
  voidedAt: voided ? VOIDED : null,
});

const rows: [string, Sums[]][] = [
  ['R15: open (nothing paid) owes money', [inv(30000, 0)]],
  ['R15: partially paid owes money', [inv(30000, 1)]],
  ['R15: paid in full owes nothing', [inv(30000, 30000)]],
  ['R15: paid beyond the amount due owes nothing', [inv(30000, 30001)]],
  ['R13/R15: a void invoice owes nothing, paid or not', [inv(30000, 0, true), inv(30000, 500, true)]],
  ['R21: one invoice with a balance among paid ones owes money', [inv(30000, 30000), inv(30000, 29999)]],
  ['R10: a void unpaid invoice beside a paid one owes nothing', [inv(30000, 0, true), inv(30000, 30000)]],
  ['R22: no invoices owe nothing', []],
];

const clone = await cloneTemplate();
const database = createDatabase(clone.url, pino({ level: 'silent' }), 2);
t.teardown(async () => {
  await database.close();
  await clone.drop();
});
const db = database.db;
await db.insertInto('carriers').values({ id: 'owes', name: 'Owes Health', name_key: 'owes health' }).execute();
const store = new EnrollmentStore(db);

let n = 0;
for (const [name, invoices] of rows) {
  t.test(name, async (t) => {
    n++;
    const memberId = String(300000000000 + n);
    await db
      .insertInto('accounts')
      .values({
        member_id: memberId,
        first_name: 'Ada',
        last_name: `Row${n}`,
        address_line1: '1 Main St',
        city: 'Boston',
        state: 'MA',
        postal_code: '02108',
        phone_numbers: [],
        paperless: true,
      })
      .execute();
    const enrollment = await store.insert({
      memberId,
      carrierId: 'owes',
      coverageType: 'health',
      planName: 'Plan',
      monthlyPremiumCents: 30000,
      coverageStart: '2027-01-01' as IsoDate,
      selectedAt: new Date('2026-12-01T12:00:00Z'),
      now: new Date('2026-12-01T12:00:00Z'),
    });
    await db.updateTable('enrollments').set({ status: 'confirmed' }).where('id', '=', enrollment).execute();
    for (const [k, i] of invoices.entries()) {
      const month = `2027-${String(k + 1).padStart(2, '0')}-01`;
      const row = await db
        .insertInto('invoices')
        .values({
          invoice_number: `${n}${k}000`,
          enrollment_id: enrollment,
          member_id: memberId,
          coverage_month: month,
          due_date: month,
          amount_due_cents: i.amountDueCents,
          amount_paid_cents: i.amountPaidCents,
          delivery: 'paperless',
          issued_at: new Date('2026-12-01T12:00:00Z'),
          voided_at: i.voidedAt,
        })
        .returning('status')
        .executeTakeFirstOrThrow();
      t.equal(row.status, invoiceStatus(i), `R15: the status column mirrors invoiceStatus (invoice ${k + 1})`);
    }
    const owes = owesMoney(invoices);
    t.same(await store.withBalance(memberId), owes ? [enrollment] : [], `withBalance agrees: owes=${owes}`);
    const byCarrier = await store.byCarrierName(memberId, 'owes health');
    t.same(
      byCarrier.map((c) => c.owes),
      [owes],
      `byCarrierName agrees: owes=${owes}`,
    );
  });
}
