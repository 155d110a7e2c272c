import t, { type Test } from 'tap';
import { massachusettsCalendar as calendar } from '../../src/domain/calendar.js';
import type { IsoDate } from '../../src/domain/dates.js';
import type { Enrollment } from '../../src/domain/enrollment.js';
import type { Invoice } from '../../src/domain/invoice.js';
import { markReturned, type Payment } from '../../src/domain/payment.js';
import { decideReversal, liveApplications, reversalEnrollmentIds } from '../../src/domain/reversal.js';

// R25 as one decision: the payment transition, one reconciliation per touched enrollment, and the
// events, all decided before anything is written. One row per rule case.
const now = new Date('2027-01-12T15:00:00Z');
const enrollment = (id: string, over: Partial<Enrollment> = {}): Enrollment => ({
  id,
  memberId: '100000000001',
  carrierId: 'c',
  coverageType: 'health',
  planName: 'P',
  monthlyPremiumCents: 45000,
  status: 'confirmed',
  chosenCoverageStart: '2027-01-01' as IsoDate,
  coverageStart: '2027-01-01' as IsoDate,
  selectedAt: new Date('2026-12-05T15:00:00Z'),
  binderInvoiceId: `${id}_b`,
  subscriber: { firstName: 'A', lastName: 'B' },
  paidInFullAt: new Date('2026-12-05T15:00:00Z'),
  confirmationExpectedBy: '2026-12-11' as IsoDate,
  idCardExpectedBy: '2026-12-19' as IsoDate,
  confirmedAt: new Date('2026-12-08T15:00:00Z'),
  carrierPolicyId: null,
  cancelledAt: null,
  creditCents: 0,
  flags: [],
  createdAt: new Date('2026-12-05T15:00:00Z'),
  history: [],
  subsidy: 'none',
  coverageEnd: null,
  terminationReason: null,
  terminatedAt: null,
  terminatedOn: null,
  statusBeforeTermination: null,
  recordedDelinquency: null,
  ...over,
});
const invoice = (id: string, enrollmentId: string, month: string, over: Partial<Invoice> = {}): Invoice => ({
  id,
  invoiceNumber: id,
  enrollmentId,
  memberId: '100000000001',
  coverageMonth: month as IsoDate,
  dueDate: `${month.slice(0, 8)}23` as IsoDate,
  amountDueCents: 45000,
  amountPaidCents: 45000,
  creditAppliedCents: 0,
  isBinder: false,
  delivery: 'mail',
  issuedAt: new Date('2026-12-10T15:00:00Z'),
  voidedAt: null,
  ...over,
});
const payment = (over: Partial<Payment> = {}): Payment => ({
  id: 'pay_1',
  status: 'received',
  channel: 'online',
  method: 'checking',
  amountCents: 50000,
  receivedAt: new Date('2027-01-05T15:00:00Z'),
  memberId: '100000000001',
  enrollmentId: 'enr_1',
  guest: false,
  target: {},
  applications: [
    { invoiceId: 'enr_1_f', amountCents: 45000, appliedAt: new Date('2027-01-05T15:00:00Z'), reversedAt: null },
  ],
  creditedCents: 5000,
  unappliedCents: 0,
  bankAccount: { routingNumber: '011000015', last4: '6789' },
  card: null,
  check: null,
  moneyOrder: null,
  returnedAt: null,
  returnReasonCode: null,
  achFileId: null,
  traceNumber: null,
  createdAt: new Date('2027-01-05T15:00:00Z'),
  ...over,
});
const reverse = (p: Payment, enrollments: { enrollment: Enrollment; invoices: Invoice[] }[]) =>
  decideReversal({
    payment: p,
    returned: markReturned(p, { reasonCode: 'R01', returnedAt: undefined, now, calendar }),
    enrollments,
    now,
    actor: 'key_ops',
    calendar,
  });
const feb = (enrollmentId: string, over: Partial<Invoice> = {}) =>
  invoice(`${enrollmentId}_f`, enrollmentId, '2027-02-01', over);

t.test('R25: the enrollments touched are locked in id order, each once, its own included', async (t) => {
  t.same(reversalEnrollmentIds(payment(), ['enr_3', 'enr_1', 'enr_3']), ['enr_1', 'enr_3']);
  t.same(reversalEnrollmentIds(payment({ enrollmentId: null }), []), []);
});

t.test('R25: only live applications are reversed', async (t) => {
  const p = payment({
    applications: [
      { invoiceId: 'a', amountCents: 1, appliedAt: now, reversedAt: now },
      { invoiceId: 'b', amountCents: 2, appliedAt: now, reversedAt: null },
    ],
  });
  t.same(
    liveApplications(p).map((a) => a.invoiceId),
    ['b'],
  );
});

const rows: {
  rule: string;
  name: string;
  payment: Payment;
  enrollments: { enrollment: Enrollment; invoices: Invoice[] }[];
  check: (t: Test, r: ReturnType<typeof reverse>) => void;
}[] = [
  {
    rule: 'R25',
    name: 'an unapplied payment touches no enrollment: only payment.returned, with its member',
    payment: payment({
      status: 'unapplied',
      enrollmentId: null,
      applications: [],
      creditedCents: 0,
      unappliedCents: 50000,
    }),
    enrollments: [],
    check: (t, r) => {
      t.same(r.reconciliations, []);
      t.same(r.events, [
        {
          type: 'payment.returned',
          occurredAt: now,
          memberId: '100000000001',
          paymentId: 'pay_1',
          data: { reasonCode: 'R01', amountCents: 50000 },
        },
      ]);
    },
  },
  {
    rule: 'R25',
    name: 'a confirmed enrollment: the application and the credit made are reversed, it is flagged',
    payment: payment(),
    enrollments: [{ enrollment: enrollment('enr_1', { creditCents: 5000 }), invoices: [feb('enr_1')] }],
    check: (t, r) => {
      t.equal(r.reconciliations.length, 1);
      const [rec] = r.reconciliations;
      t.same(rec?.invoices, [{ invoiceId: 'enr_1_f', paidDeltaCents: -45000 }]);
      t.match(rec?.enrollment, { addFlag: 'payment_returned', creditDeltaCents: -5000 });
      t.same(
        rec?.events.map((e) => e.type),
        ['payment.returned', 'enrollment.flagged'],
      );
      t.same(r.events, [], 'payment.returned travels with the reconciliation');
    },
  },
  {
    rule: 'R25',
    name: "the payment's credit is taken back on its own enrollment only",
    payment: payment({
      applications: [{ invoiceId: 'enr_2_f', amountCents: 45000, appliedAt: now, reversedAt: null }],
    }),
    enrollments: [
      { enrollment: enrollment('enr_1', { creditCents: 5000 }), invoices: [feb('enr_1')] },
      { enrollment: enrollment('enr_2'), invoices: [feb('enr_2')] },
    ],
    check: (t, r) => {
      t.same(
        r.reconciliations.map((c) => c.enrollmentId),
        ['enr_1', 'enr_2'],
      );
      t.match(r.reconciliations[0]?.enrollment, { creditDeltaCents: -5000 });
      t.same(r.reconciliations[0]?.invoices, [], "enr_1's invoice was not paid by this payment");
      t.same(r.reconciliations[1]?.invoices, [{ invoiceId: 'enr_2_f', paidDeltaCents: -45000 }]);
      t.match(r.reconciliations[1]?.enrollment, { creditDeltaCents: 0 });
    },
  },
  {
    rule: 'R25',
    name: 'a binder unpaid before confirmation reopens the enrollment (pending_payment)',
    payment: payment({
      creditedCents: 0,
      amountCents: 45000,
      applications: [{ invoiceId: 'enr_1_b', amountCents: 45000, appliedAt: now, reversedAt: null }],
    }),
    enrollments: [
      {
        enrollment: enrollment('enr_1', {
          status: 'awaiting_confirmation',
          confirmedAt: null,
          coverageStart: '2027-02-01' as IsoDate,
        }),
        invoices: [invoice('enr_1_b', 'enr_1', '2027-02-01', { isBinder: true })],
      },
    ],
    check: (t, r) => {
      t.match(r.reconciliations[0]?.enrollment, { status: 'pending_payment', clearPaidInFull: true });
      t.same(
        r.reconciliations[0]?.events.map((e) => e.type),
        ['payment.returned', 'enrollment.pending_payment'],
      );
    },
  },
];
for (const row of rows) {
  t.test(`${row.rule}: ${row.name}`, async (t) => {
    const r = reverse(row.payment, row.enrollments);
    t.match(r.payment, { id: 'pay_1', status: 'returned', returnReasonCode: 'R01', returnedAt: now });
    row.check(t, r);
  });
}

t.test('R25: a payment returned once is refused before anything is decided (already_returned)', async (t) => {
  const p = payment({ status: 'returned', returnedAt: now, returnReasonCode: 'R01' });
  t.throws(() => reverse(p, []), { code: 'already_returned' });
});
