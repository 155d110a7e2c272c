import t from 'tap';
import { massachusettsCalendar } from '../../src/domain/calendar.js';
import type { Enrollment } from '../../src/domain/enrollment.js';
import type { Invoice } from '../../src/domain/invoice.js';
import { type Settlement, settle } from '../../src/domain/settlement.js';
import { binder, enrollment, invoice, matchInvoiceChanges, PREMIUM, paidEnrollment } from '../helpers/domain.js';

// `settle` (R9-R11, R24, I3) as a black box: one payment applied to one enrollment, decided before
// anything is written. Each row names the rule it shows; the expectations are read from SPEC.md.
interface Row {
  rule: string;
  name: string;
  enrollment: Enrollment;
  invoices: Invoice[];
  amountCents: number;
  /** The payment's receivedAt; `now` defaults to it. */
  receivedAt: string;
  now?: string;
  onlyInvoiceId?: string;
  expect: {
    applications: { invoiceId: string; amountCents: number }[];
    creditedCents: number;
    /** Partial: the fields of the enrollment change that the rule decides (null: nothing changes). */
    enrollment: Record<string, unknown> | null;
    /** Partial, per invoice id: what changes on it. */
    invoices?: Record<string, Record<string, unknown>>;
    /** The history entries, as [type, from, to]. */
    history?: [string, string | null, string][];
    /** The event types, in order. */
    events?: string[];
  };
}

const at = (s: string) => new Date(s);

const rows: Row[] = [
  {
    rule: 'R9',
    name: 'a partial binder payment is kept and counted; the enrollment stays pending_payment',
    enrollment: enrollment(),
    invoices: [binder()],
    amountCents: 20000,
    receivedAt: '2026-12-10T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: 20000 }],
      creditedCents: 0,
      enrollment: null,
      invoices: { inv_b: { paidDeltaCents: 20000 } },
      history: [],
      events: ['payment.received'],
    },
  },
  {
    rule: 'R9',
    name: 'a second partial payment that completes the binder completes the enrollment',
    enrollment: enrollment(),
    invoices: [binder({ amountPaidCents: 20000 })],
    amountCents: 25000,
    receivedAt: '2026-12-10T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: 25000 }],
      creditedCents: 0,
      enrollment: { status: 'awaiting_confirmation', creditDeltaCents: 0 },
      history: [['status_changed', 'pending_payment', 'awaiting_confirmation']],
      events: ['payment.received', 'enrollment.awaiting_confirmation'],
    },
  },
  {
    rule: 'R11',
    name: 'paid in full on Thursday 2026-12-10: confirmation expected 5 business days later, ID card 14 days later',
    enrollment: enrollment(),
    invoices: [binder()],
    amountCents: PREMIUM,
    receivedAt: '2026-12-10T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
      creditedCents: 0,
      enrollment: {
        status: 'awaiting_confirmation',
        paidInFullAt: at('2026-12-10T15:00:00Z'),
        confirmationExpectedBy: '2026-12-17',
        idCardExpectedBy: '2026-12-24',
      },
    },
  },
  {
    rule: 'R11',
    name: "paid in full on Saturday 2026-12-12: R4's example, confirmation expected Friday 2026-12-18",
    enrollment: enrollment(),
    invoices: [binder()],
    amountCents: PREMIUM,
    receivedAt: '2026-12-12T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
      creditedCents: 0,
      enrollment: {
        status: 'awaiting_confirmation',
        confirmationExpectedBy: '2026-12-18',
        idCardExpectedBy: '2026-12-26',
      },
    },
  },
  {
    rule: 'R11',
    name: 'paid in full at 23:30 New York time on the due date: on time, the business days skip Christmas',
    enrollment: enrollment(),
    invoices: [binder()],
    amountCents: PREMIUM,
    receivedAt: '2026-12-24T04:30:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
      creditedCents: 0,
      enrollment: {
        status: 'awaiting_confirmation',
        coverageStart: undefined,
        paidInFullAt: at('2026-12-24T04:30:00Z'),
        confirmationExpectedBy: '2026-12-31',
        idCardExpectedBy: '2027-01-06',
      },
      history: [['status_changed', 'pending_payment', 'awaiting_confirmation']],
    },
  },
  {
    rule: 'R10',
    name: 'paid in full after the due date: the missed deadline is recorded first and coverage starts a month later',
    enrollment: enrollment(),
    invoices: [binder()],
    amountCents: PREMIUM,
    receivedAt: '2026-12-28T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
      creditedCents: 0,
      enrollment: {
        status: 'awaiting_confirmation',
        coverageStart: '2027-02-01',
        confirmationExpectedBy: '2027-01-05',
      },
      invoices: { inv_b: { paidDeltaCents: PREMIUM, coverageMonth: '2027-02-01', dueDate: '2027-01-23' } },
      history: [
        ['coverage_start_moved', '2027-01-01', '2027-02-01'],
        ['status_changed', 'pending_payment', 'awaiting_confirmation'],
      ],
      events: ['enrollment.coverage_start_moved', 'payment.received', 'enrollment.awaiting_confirmation'],
    },
  },
  {
    rule: 'R10',
    name: 'paid in full two due dates late: coverage starts on the first month whose due date the payment met',
    enrollment: enrollment(),
    invoices: [binder()],
    amountCents: PREMIUM,
    receivedAt: '2027-01-24T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
      creditedCents: 0,
      enrollment: { status: 'awaiting_confirmation', coverageStart: '2027-03-01' },
      invoices: { inv_b: { coverageMonth: '2027-03-01', dueDate: '2027-02-23' } },
      history: [
        ['coverage_start_moved', '2027-01-01', '2027-02-01'],
        ['coverage_start_moved', '2027-02-01', '2027-03-01'],
        ['status_changed', 'pending_payment', 'awaiting_confirmation'],
      ],
    },
  },
  {
    rule: 'R10',
    name: 'a check received by the due date but recorded after it starts coverage on the chosen start',
    enrollment: enrollment(),
    invoices: [binder()],
    amountCents: PREMIUM,
    receivedAt: '2026-12-22T15:00:00Z',
    now: '2026-12-28T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
      creditedCents: 0,
      enrollment: {
        status: 'awaiting_confirmation',
        coverageStart: '2027-01-01',
        confirmationExpectedBy: '2026-12-30',
      },
      invoices: { inv_b: { coverageMonth: '2027-01-01', dueDate: '2026-12-23' } },
    },
  },
  {
    rule: 'R10',
    name: 'paid late for a start chosen further out: never earlier than the start the member chose',
    enrollment: enrollment({ chosenCoverageStart: '2027-03-01' as never, coverageStart: '2027-03-01' as never }),
    invoices: [binder({ coverageMonth: '2027-03-01' as never, dueDate: '2027-02-23' as never })],
    amountCents: PREMIUM,
    receivedAt: '2026-12-28T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
      creditedCents: 0,
      enrollment: { status: 'awaiting_confirmation', coverageStart: undefined },
      history: [['status_changed', 'pending_payment', 'awaiting_confirmation']],
    },
  },
  {
    rule: 'R24',
    name: 'an overpayment of the binder becomes credit on that enrollment',
    enrollment: enrollment(),
    invoices: [binder()],
    amountCents: 50000,
    receivedAt: '2026-12-10T15:00:00Z',
    expect: {
      applications: [{ invoiceId: 'inv_b', amountCents: PREMIUM }],
      creditedCents: 5000,
      enrollment: { status: 'awaiting_confirmation', creditDeltaCents: 5000 },
    },
  },
  {
    rule: 'R24',
    name: 'a payment naming the enrollment pays the oldest open invoice first, then the next',
    enrollment: paidEnrollment(),
    invoices: [
      binder({ amountPaidCents: PREMIUM }),
      invoice('inv_m', '2027-03-01'),
      invoice('inv_f', '2027-02-01', { amountPaidCents: 10000 }),
    ],
    amountCents: 60000,
    receivedAt: '2027-01-10T15:00:00Z',
    expect: {
      applications: [
        { invoiceId: 'inv_f', amountCents: 35000 },
        { invoiceId: 'inv_m', amountCents: 25000 },
      ],
      creditedCents: 0,
      enrollment: null,
      events: ['payment.received'],
    },
  },
  {
    rule: 'R24',
    name: 'a payment naming one invoice pays only that invoice, even when an older one is open',
    enrollment: paidEnrollment(),
    invoices: [binder({ amountPaidCents: PREMIUM }), invoice('inv_f', '2027-02-01'), invoice('inv_m', '2027-03-01')],
    amountCents: PREMIUM,
    receivedAt: '2027-01-10T15:00:00Z',
    onlyInvoiceId: 'inv_m',
    expect: {
      applications: [{ invoiceId: 'inv_m', amountCents: PREMIUM }],
      creditedCents: 0,
      enrollment: null,
    },
  },
  {
    rule: 'R24',
    name: 'overpaying a named invoice: the rest is credit, and credit pays what is open at once (I3)',
    enrollment: paidEnrollment(),
    invoices: [binder({ amountPaidCents: PREMIUM }), invoice('inv_f', '2027-02-01'), invoice('inv_m', '2027-03-01')],
    amountCents: 50000,
    receivedAt: '2027-01-10T15:00:00Z',
    onlyInvoiceId: 'inv_m',
    expect: {
      applications: [{ invoiceId: 'inv_m', amountCents: PREMIUM }],
      creditedCents: 5000,
      enrollment: null,
      invoices: {
        inv_m: { paidDeltaCents: PREMIUM },
        inv_f: { paidDeltaCents: 5000, creditDeltaCents: 5000 },
      },
    },
  },
  {
    rule: 'R24',
    name: 'a payment naming a void invoice is recorded and becomes credit on that enrollment',
    enrollment: paidEnrollment(),
    invoices: [
      binder({ amountPaidCents: PREMIUM }),
      invoice('inv_f', '2027-02-01', { voidedAt: at('2027-01-05T15:00:00Z') }),
    ],
    amountCents: PREMIUM,
    receivedAt: '2027-01-10T15:00:00Z',
    onlyInvoiceId: 'inv_f',
    expect: {
      applications: [],
      creditedCents: PREMIUM,
      enrollment: { creditDeltaCents: PREMIUM },
    },
  },
  {
    rule: 'R24',
    name: 'a payment to a cancelled enrollment is recorded and becomes credit there, for ops to refund',
    enrollment: enrollment({ status: 'cancelled', cancelledAt: at('2026-12-08T15:00:00Z') }),
    invoices: [binder({ voidedAt: at('2026-12-08T15:00:00Z') })],
    amountCents: PREMIUM,
    receivedAt: '2026-12-10T15:00:00Z',
    expect: {
      applications: [],
      creditedCents: PREMIUM,
      enrollment: { status: undefined, creditDeltaCents: PREMIUM },
      history: [],
      events: ['payment.received'],
    },
  },
  {
    rule: 'R24',
    name: 'a payment to a cancelled enrollment never completes it, whatever its amount',
    enrollment: enrollment({ status: 'cancelled', cancelledAt: at('2026-12-08T15:00:00Z') }),
    invoices: [binder({ voidedAt: at('2026-12-08T15:00:00Z'), amountPaidCents: 20000 })],
    amountCents: 25000,
    receivedAt: '2026-12-10T15:00:00Z',
    expect: {
      applications: [],
      creditedCents: 25000,
      enrollment: { status: undefined, creditDeltaCents: 25000 },
      events: ['payment.received'],
    },
  },
  {
    rule: 'R24',
    name: 'a confirmed enrollment with nothing owed: the whole payment is credit',
    enrollment: paidEnrollment({ status: 'confirmed', confirmedAt: at('2026-12-08T15:00:00Z') }),
    invoices: [binder({ amountPaidCents: PREMIUM })],
    amountCents: 12345,
    receivedAt: '2027-01-10T15:00:00Z',
    expect: {
      applications: [],
      creditedCents: 12345,
      enrollment: { status: undefined, creditDeltaCents: 12345 },
    },
  },
];

const run = (r: Row): Settlement =>
  settle({
    enrollment: r.enrollment,
    invoices: r.invoices,
    amountCents: r.amountCents,
    paymentId: 'pay_1',
    receivedAt: at(r.receivedAt),
    now: at(r.now ?? r.receivedAt),
    actor: 'key_connector',
    calendar: massachusettsCalendar,
    onlyInvoiceId: r.onlyInvoiceId,
  });

for (const r of rows) {
  t.test(`${r.rule}: ${r.name}`, async (t) => {
    const s = run(r);
    const msg = (what: string) => `${r.rule} ${r.name}: ${what}`;
    t.same(s.applications, r.expect.applications, msg('applications'));
    t.equal(s.creditedCents, r.expect.creditedCents, msg('creditedCents'));
    if (r.expect.enrollment === null) t.equal(s.enrollment, null, msg('the enrollment does not change'));
    else {
      t.ok(s.enrollment, msg('the enrollment changes'));
      for (const [field, value] of Object.entries(r.expect.enrollment)) {
        t.same((s.enrollment as Record<string, unknown> | null)?.[field], value, msg(`enrollment.${field}`));
      }
    }
    matchInvoiceChanges(t, s.invoices, r.expect.invoices, msg);
    if (r.expect.history) {
      t.same(
        s.history.map((h) => [h.type, h.from, h.to]),
        r.expect.history,
        msg('history'),
      );
    }
    if (r.expect.events)
      t.same(
        s.events.map((e) => e.type),
        r.expect.events,
        msg('events'),
      );
    // I4: every cent of the payment is applied or credited, never lost or invented.
    const applied = s.applications.reduce((sum, a) => sum + a.amountCents, 0);
    t.equal(applied + s.creditedCents, r.amountCents, msg('I4: applications + credit = amount'));
  });
}

t.test('R14: the history entries of a completion name the actor and say why', async (t) => {
  const s = run(rows[5] as Row);
  t.match(s.history, [
    { type: 'coverage_start_moved', actor: 'system', reason: /2026-12-23/ },
    { type: 'status_changed', actor: 'key_connector', reason: 'binder paid in full' },
  ]);
  const received = s.events.find((e) => e.type === 'payment.received');
  t.match(received, { paymentId: 'pay_1', enrollmentId: 'enr_1', carrierId: 'c', data: { amountCents: PREMIUM } });
});

t.test('settle decides only: its inputs are left as they were', async (t) => {
  const e = enrollment();
  const invoices = [binder()];
  const before = structuredClone({ e, invoices });
  run({ ...(rows[5] as Row), enrollment: e, invoices });
  t.same({ e, invoices }, before, 'R10/R24: nothing written before the store writes the decision');
});
