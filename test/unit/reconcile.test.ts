import t from 'tap';
import type { Enrollment } from '../../src/domain/enrollment.js';
import type { Invoice } from '../../src/domain/invoice.js';
import { decideMissedDeadlines, type Reconciliation } from '../../src/domain/reconcile.js';
import { binder, invoice, paidEnrollment, returnDecision } from '../helpers/domain.js';

// R25 (new text) and R10 as decisions: one row per rule case.
const returnOf = (over: {
  e?: Partial<Enrollment>;
  invoices: Invoice[];
  applications: { invoiceId: string; amountCents: number }[];
  creditedCents?: number;
  now: string;
}): Reconciliation => returnDecision({ ...over, enrollment: paidEnrollment(over.e) });

const byId = (r: Reconciliation, id: string) => r.invoices.find((c) => c.invoiceId === id);

t.test(
  'R25: returned after the due date, the start moves and February is voided into credit for the binder',
  async (t) => {
    const r = returnOf({
      invoices: [binder({ amountPaidCents: 45000 }), invoice('inv_f', '2027-02-01', { amountPaidCents: 10000 })],
      applications: [{ invoiceId: 'inv_b', amountCents: 45000 }],
      now: '2026-12-28T15:00:00Z',
    });
    t.equal(r.enrollment?.status, 'pending_payment');
    t.equal(r.enrollment?.clearPaidInFull, true);
    t.equal(r.enrollment?.coverageStart, '2027-02-01');
    t.equal(r.enrollment?.creditDeltaCents, 0, 'all freed money went to the binder');
    t.ok(byId(r, 'inv_f')?.voidedAt, 'February voided');
    t.equal(r.invoices[0]?.invoiceId, 'inv_f', 'voids are written first');
    t.same(byId(r, 'inv_b'), {
      invoiceId: 'inv_b',
      paidDeltaCents: -45000 + 10000,
      creditDeltaCents: 10000,
      coverageMonth: '2027-02-01',
      dueDate: '2027-01-23',
    });
    t.same(
      r.events.map((e) => e.type),
      ['payment.returned', 'enrollment.pending_payment', 'enrollment.coverage_start_moved'],
    );
  },
);

t.test('R25: returned before the due date, nothing moves and February stands', async (t) => {
  const r = returnOf({
    invoices: [binder({ amountPaidCents: 45000 }), invoice('inv_f', '2027-02-01')],
    applications: [{ invoiceId: 'inv_b', amountCents: 45000 }],
    now: '2026-12-15T15:00:00Z',
  });
  t.equal(r.enrollment?.status, 'pending_payment');
  t.equal(r.enrollment?.coverageStart, undefined);
  t.same(r.invoices, [{ invoiceId: 'inv_b', paidDeltaCents: -45000 }]);
});

t.test('R25: a confirmed enrollment is flagged, never moved', async (t) => {
  const r = returnOf({
    e: { status: 'confirmed' },
    invoices: [binder({ amountPaidCents: 45000 })],
    applications: [{ invoiceId: 'inv_b', amountCents: 45000 }],
    now: '2027-01-05T15:00:00Z',
  });
  t.equal(r.enrollment?.status, undefined);
  t.equal(r.enrollment?.addFlag, 'payment_returned');
  t.equal(r.enrollment?.coverageStart, undefined);
});

t.test('R25: credit a run already spent is taken back from the newest invoice that used it', async (t) => {
  const r = returnOf({
    e: { creditCents: 1000 },
    invoices: [
      binder({ amountPaidCents: 45000 }),
      invoice('inv_f', '2027-02-01', { amountPaidCents: 5000, creditAppliedCents: 5000 }),
      invoice('inv_m', '2027-03-01', { amountPaidCents: 3000, creditAppliedCents: 3000 }),
    ],
    applications: [],
    creditedCents: 6000,
    now: '2027-01-05T15:00:00Z',
  });
  t.equal(r.enrollment?.creditDeltaCents, -1000, 'the credit still held goes first');
  t.same(byId(r, 'inv_m'), { invoiceId: 'inv_m', paidDeltaCents: -3000, creditDeltaCents: -3000 });
  t.same(byId(r, 'inv_f'), { invoiceId: 'inv_f', paidDeltaCents: -2000, creditDeltaCents: -2000 });
  t.equal(r.enrollment?.status, undefined, 'the binder is still paid');
});

t.test('R25: credit freed by the move can pay the whole binder again', async (t) => {
  const r = returnOf({
    invoices: [binder({ amountPaidCents: 45000 }), invoice('inv_f', '2027-02-01', { amountPaidCents: 45000 })],
    applications: [{ invoiceId: 'inv_b', amountCents: 45000 }],
    now: '2026-12-28T15:00:00Z',
  });
  t.equal(r.enrollment?.status, 'awaiting_confirmation');
  t.equal(r.enrollment?.coverageStart, '2027-02-01');
  t.equal(r.enrollment?.clearPaidInFull, false);
  t.same(
    r.history.map((h) => [h.type, h.to]),
    [
      ['status_changed', 'pending_payment'],
      ['coverage_start_moved', '2027-02-01'],
      ['status_changed', 'awaiting_confirmation'],
    ],
  );
});

t.test('R10: the sweep voids the regular invoice of the month the binder moves into', async (t) => {
  const r = decideMissedDeadlines(
    paidEnrollment({ status: 'pending_payment', paidInFullAt: null }),
    [binder(), invoice('inv_f', '2027-02-01', { amountPaidCents: 2000, creditAppliedCents: 2000 })],
    new Date('2026-12-28T15:00:00Z'),
  );
  t.equal(r?.enrollment?.coverageStart, '2027-02-01');
  t.equal(r?.invoices[0]?.invoiceId, 'inv_f');
  t.ok(r?.invoices[0]?.voidedAt);
  t.same(byId(r as Reconciliation, 'inv_b'), {
    invoiceId: 'inv_b',
    paidDeltaCents: 2000,
    creditDeltaCents: 2000,
    coverageMonth: '2027-02-01',
    dueDate: '2027-01-23',
  });
  t.equal(r?.enrollment?.creditDeltaCents, 0);
  t.equal(
    decideMissedDeadlines(paidEnrollment({ status: 'pending_payment' }), [binder()], new Date('2026-12-20T15:00:00Z')),
    null,
    'nothing before the due date',
  );
});
