import t from 'tap';
import type { Enrollment } from '../../src/domain/enrollment.js';
import type { DomainError } from '../../src/domain/errors.js';
import type { Invoice } from '../../src/domain/invoice.js';
import { assertReturnReason } from '../../src/domain/payment.js';
import { decideMissedDeadlines, type Reconciliation } from '../../src/domain/reconcile.js';
import {
  binder,
  enrollment,
  invoice,
  matchInvoiceChanges,
  PREMIUM,
  paidEnrollment,
  returnDecision,
} from '../helpers/domain.js';

// R25 (returned payments) and R10 (the sweep) as decisions, from SPEC.md; reconcile.test.ts has the
// cases of the binder moving on a return and of credit taken back, these rows add the rest.
interface ReturnRow {
  rule: string;
  name: string;
  enrollment: Enrollment;
  invoices: Invoice[];
  applications: { invoiceId: string; amountCents: number }[];
  creditedCents?: number;
  now: string;
  expect: {
    /** Partial; null: the enrollment does not change beyond its credit (`creditDeltaCents` 0, nothing else). */
    enrollment: Record<string, unknown>;
    invoices?: Record<string, Record<string, unknown>>;
    events: string[];
    history?: [string, string | null, string][];
  };
}

const at = (s: string) => new Date(s);

const returnRows: ReturnRow[] = [
  {
    rule: 'R25',
    name: 'the only binder payment returned before the due date: back to pending_payment, R11 dates cleared',
    enrollment: paidEnrollment(),
    invoices: [binder({ amountPaidCents: PREMIUM })],
    applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
    now: '2026-12-10T15:00:00Z',
    expect: {
      enrollment: { status: 'pending_payment', clearPaidInFull: true, creditDeltaCents: 0, addFlag: undefined },
      invoices: { inv_b: { paidDeltaCents: -PREMIUM } },
      events: ['payment.returned', 'enrollment.pending_payment'],
      history: [['status_changed', 'awaiting_confirmation', 'pending_payment']],
    },
  },
  {
    rule: 'R25',
    name: 'one of two binder payments returned: the binder is partially paid, the enrollment pending again',
    enrollment: paidEnrollment(),
    invoices: [binder({ amountPaidCents: PREMIUM })],
    applications: [{ invoiceId: 'inv_b', amountCents: 20000 }],
    now: '2026-12-10T15:00:00Z',
    expect: {
      enrollment: { status: 'pending_payment', clearPaidInFull: true },
      invoices: { inv_b: { paidDeltaCents: -20000 } },
      events: ['payment.returned', 'enrollment.pending_payment'],
    },
  },
  {
    rule: 'R25',
    name: 'a payment of a later month returned before confirmation: the binder stays paid, the status stays',
    enrollment: paidEnrollment(),
    invoices: [binder({ amountPaidCents: PREMIUM }), invoice('inv_f', '2027-02-01', { amountPaidCents: PREMIUM })],
    applications: [{ invoiceId: 'inv_f', amountCents: PREMIUM }],
    now: '2027-01-10T15:00:00Z',
    expect: {
      enrollment: { status: undefined, clearPaidInFull: undefined, addFlag: undefined, creditDeltaCents: 0 },
      invoices: { inv_f: { paidDeltaCents: -PREMIUM } },
      events: ['payment.returned'],
      history: [],
    },
  },
  {
    rule: 'R25',
    name: 'after the carrier confirmed: flagged for ops and the carrier told (enrollment.flagged), status kept',
    enrollment: paidEnrollment({ status: 'confirmed', confirmedAt: at('2026-12-08T15:00:00Z') }),
    invoices: [binder({ amountPaidCents: PREMIUM })],
    applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
    now: '2027-01-10T15:00:00Z',
    expect: {
      enrollment: { status: undefined, addFlag: 'payment_returned' },
      invoices: { inv_b: { paidDeltaCents: -PREMIUM } },
      events: ['payment.returned', 'enrollment.flagged'],
      history: [],
    },
  },
  {
    rule: 'R25',
    name: 'a payment still pending (a partial binder payment) returned: the money is reversed, nothing else',
    enrollment: enrollment(),
    invoices: [binder({ amountPaidCents: 20000 })],
    applications: [{ invoiceId: 'inv_b', amountCents: 20000 }],
    now: '2026-12-10T15:00:00Z',
    expect: {
      enrollment: { status: undefined, clearPaidInFull: undefined, creditDeltaCents: 0 },
      invoices: { inv_b: { paidDeltaCents: -20000 } },
      events: ['payment.returned'],
      history: [],
    },
  },
  {
    rule: 'R25',
    name: "a payment that became credit on a cancelled enrollment: the credit is reversed (R13's refund shrinks)",
    enrollment: enrollment({ status: 'cancelled', cancelledAt: at('2026-12-08T15:00:00Z'), creditCents: PREMIUM }),
    invoices: [binder({ voidedAt: at('2026-12-08T15:00:00Z') })],
    applications: [],
    creditedCents: PREMIUM,
    now: '2026-12-10T15:00:00Z',
    expect: {
      enrollment: { status: undefined, addFlag: undefined, creditDeltaCents: -PREMIUM },
      events: ['payment.returned'],
    },
  },
  {
    rule: 'R25',
    name: 'money applied to an invoice that was voided since (it had become credit) is taken back from the credit',
    enrollment: enrollment({ status: 'cancelled', cancelledAt: at('2026-12-08T15:00:00Z'), creditCents: 20000 }),
    invoices: [binder({ voidedAt: at('2026-12-08T15:00:00Z'), amountPaidCents: 20000 })],
    applications: [{ invoiceId: 'inv_b', amountCents: 20000 }],
    now: '2026-12-10T15:00:00Z',
    expect: {
      enrollment: { status: undefined, creditDeltaCents: -20000 },
      events: ['payment.returned'],
    },
  },
  {
    rule: 'R25',
    name: 'an overpayment returned: its credit goes, the binder payment with it, the enrollment is pending again',
    enrollment: paidEnrollment({ creditCents: 5000 }),
    invoices: [binder({ amountPaidCents: PREMIUM })],
    applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
    creditedCents: 5000,
    now: '2026-12-10T15:00:00Z',
    expect: {
      enrollment: { status: 'pending_payment', creditDeltaCents: -5000 },
      invoices: { inv_b: { paidDeltaCents: -PREMIUM } },
      events: ['payment.returned', 'enrollment.pending_payment'],
    },
  },
];

const runReturn = (r: ReturnRow): Reconciliation => returnDecision(r);

for (const r of returnRows) {
  t.test(`${r.rule}: ${r.name}`, async (t) => {
    const d = runReturn(r);
    const msg = (what: string) => `${r.rule} ${r.name}: ${what}`;
    t.equal(d.enrollmentId, 'enr_1', msg('enrollment'));
    for (const [field, value] of Object.entries(r.expect.enrollment)) {
      t.same((d.enrollment as Record<string, unknown> | null)?.[field], value, msg(`enrollment.${field}`));
    }
    matchInvoiceChanges(t, d.invoices, r.expect.invoices, msg);
    t.same(
      d.events.map((e) => e.type),
      r.expect.events,
      msg('events'),
    );
    t.ok(
      d.events.every((e) => e.carrierId === 'c' && e.enrollmentId === 'enr_1'),
      msg('R27: every event is for the carrier of the enrollment'),
    );
    if (r.expect.history) {
      t.same(
        d.history.map((h) => [h.type, h.from, h.to]),
        r.expect.history,
        msg('R14 history'),
      );
    }
  });
}

t.test('R25/R14: the history of a reopened binder names the payment, the reason code and the actor', async (t) => {
  const d = runReturn(returnRows[0] as ReturnRow);
  t.match(d.history, [{ type: 'status_changed', actor: 'key_ops', reason: /pay_1.*R01/ }], 'R25: history');
  t.match(d.events[0], {
    type: 'payment.returned',
    paymentId: 'pay_1',
    data: { reasonCode: 'R01', amountCents: PREMIUM },
  });
});

t.test('R25: reason codes: ACH R01..R99 for bank payments, CHECK_RETURNED for checks and money orders', async (t) => {
  const rows: {
    rule: string;
    name: string;
    method: Parameters<typeof assertReturnReason>[0];
    code: string;
    ok: boolean;
  }[] = [
    { rule: 'R25', name: 'R01 on checking', method: 'checking', code: 'R01', ok: true },
    { rule: 'R25', name: 'R99 on savings', method: 'savings', code: 'R99', ok: true },
    { rule: 'R25', name: 'R00 is no ACH return code', method: 'checking', code: 'R00', ok: false },
    { rule: 'R25', name: 'R1 (one digit) is no ACH return code', method: 'checking', code: 'R1', ok: false },
    { rule: 'R25', name: 'R100 (three digits) is no ACH return code', method: 'checking', code: 'R100', ok: false },
    { rule: 'R25', name: 'lower-case r01 is no ACH return code', method: 'checking', code: 'r01', ok: false },
    {
      rule: 'R25',
      name: 'CHECK_RETURNED on a bank payment is refused',
      method: 'checking',
      code: 'CHECK_RETURNED',
      ok: false,
    },
    { rule: 'R25', name: 'CHECK_RETURNED on a check', method: 'check', code: 'CHECK_RETURNED', ok: true },
    { rule: 'R25', name: 'CHECK_RETURNED on a money order', method: 'money_order', code: 'CHECK_RETURNED', ok: true },
    { rule: 'R25', name: 'an ACH code on a check is refused', method: 'check', code: 'R01', ok: false },
    {
      rule: 'R25',
      name: 'a card payment is not returned here (processor dispute)',
      method: 'credit_card',
      code: 'R01',
      ok: false,
    },
  ];
  for (const r of rows) {
    const msg = `${r.rule}: ${r.name}`;
    if (r.ok) t.doesNotThrow(() => assertReturnReason(r.method, r.code), msg);
    else {
      const err = t.throws(() => assertReturnReason(r.method, r.code), msg) as unknown as DomainError;
      t.equal(err.code, 'invalid_reason_code', `${msg}: invalid_reason_code`);
    }
  }
});

t.test('R10: what the sweep records for a pending enrollment', async (t) => {
  const rows: {
    rule: string;
    name: string;
    enrollment: Enrollment;
    invoices: Invoice[];
    now: string;
    expect: null | { start: string; history: [string, string][]; binder: { coverageMonth: string; dueDate: string } };
  }[] = [
    {
      rule: 'R10',
      name: 'a binder not due yet: nothing to record',
      enrollment: enrollment(),
      invoices: [binder()],
      now: '2026-12-23T20:00:00Z',
      expect: null,
    },
    {
      rule: 'R10',
      name: 'a paid binder (awaiting_confirmation): nothing to record',
      enrollment: paidEnrollment(),
      invoices: [binder({ amountPaidCents: PREMIUM })],
      now: '2027-02-10T15:00:00Z',
      expect: null,
    },
    {
      rule: 'R10',
      name: 'a cancelled enrollment: nothing to record',
      enrollment: enrollment({ status: 'cancelled' }),
      invoices: [binder({ voidedAt: at('2026-12-08T15:00:00Z') })],
      now: '2027-02-10T15:00:00Z',
      expect: null,
    },
    {
      rule: 'R10',
      name: 'one due date missed: the start, the binder month and its due date move one month',
      enrollment: enrollment(),
      invoices: [binder({ amountPaidCents: 20000 })],
      now: '2026-12-28T15:00:00Z',
      expect: {
        start: '2027-02-01',
        history: [['2027-01-01', '2027-02-01']],
        binder: { coverageMonth: '2027-02-01', dueDate: '2027-01-23' },
      },
    },
    {
      rule: 'R10',
      name: 'two due dates missed while no sweep ran: both moves are recorded, in order',
      enrollment: enrollment(),
      invoices: [binder()],
      now: '2027-01-28T15:00:00Z',
      expect: {
        start: '2027-03-01',
        history: [
          ['2027-01-01', '2027-02-01'],
          ['2027-02-01', '2027-03-01'],
        ],
        binder: { coverageMonth: '2027-03-01', dueDate: '2027-02-23' },
      },
    },
  ];
  for (const r of rows) {
    const msg = `${r.rule}: ${r.name}`;
    const d = decideMissedDeadlines(r.enrollment, r.invoices, at(r.now));
    if (r.expect === null) {
      t.equal(d, null, msg);
      continue;
    }
    t.equal(d?.enrollment?.coverageStart, r.expect.start, `${msg}: coverageStart`);
    t.equal(d?.enrollment?.status, undefined, `${msg}: still pending_payment`);
    t.same(
      d?.history.map((h) => [h.from, h.to]),
      r.expect.history,
      `${msg}: R14 history`,
    );
    t.ok(
      d?.history.every((h) => h.type === 'coverage_start_moved' && h.actor === 'system'),
      `${msg}: R14 moves by the system`,
    );
    t.same(
      d?.events.map((e) => [e.type, e.data]),
      r.expect.history.map(([from, to]) => ['enrollment.coverage_start_moved', { from, to }]),
      `${msg}: events`,
    );
    t.match(
      d?.invoices.find((c) => c.invoiceId === 'inv_b'),
      r.expect.binder,
      `${msg}: binder`,
    );
  }
});
