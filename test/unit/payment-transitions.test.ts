import t from 'tap';
import { massachusettsCalendar as calendar } from '../../src/domain/calendar.js';
import { DomainError } from '../../src/domain/errors.js';
import {
  apply,
  markReturned,
  markUnapplied,
  newPayment,
  type Payment,
  type PaymentRequest,
} from '../../src/domain/payment.js';

// Payment transitions (R19-R25, I4): each a pure function from a payment to a payment, refusing the
// states it does not apply to with the API's error codes. One row per rule case.
const now = new Date('2027-01-12T15:00:00Z');
const req: PaymentRequest = {
  channel: 'online',
  method: 'checking',
  amountCents: 50000,
  invoiceNumber: '1001',
  bankAccount: { routingNumber: '011000015', accountNumber: '000123456789' },
};
const fresh = (over: Partial<PaymentRequest> = {}): Payment =>
  newPayment({ ...req, ...over }, { kind: 'invoice', invoiceNumber: '1001' }, { id: 'pay_1', receivedAt: now, now });
const enrollment = { id: 'enr_1', memberId: '100000000001' };
const settled = { applications: [{ invoiceId: 'inv_1', amountCents: 45000 }], creditedCents: 5000 };
const applied = (): Payment => apply(fresh(), enrollment, settled, now);
const unapplied = (): Payment => markUnapplied(fresh({ channel: 'mail', method: 'check' }), null, now).payment;
const returned = (): Payment => markReturned(applied(), { reasonCode: 'R01', returnedAt: undefined, now, calendar });

/** I4 for a payment not returned: amount = live applications + credited + unapplied. */
const i4 = (p: Payment) =>
  p.applications.filter((a) => a.reversedAt === null).reduce((s, a) => s + a.amountCents, 0) +
    p.creditedCents +
    p.unappliedCents ===
  p.amountCents;

t.test('R20: a new payment shows the last 4 digits of the account only, and pays nothing yet', async (t) => {
  const p = fresh();
  t.same(p.bankAccount, { routingNumber: '011000015', last4: '6789' });
  t.notMatch(JSON.stringify(p), /000123456789/);
  t.match(p, { status: 'received', enrollmentId: null, memberId: null, applications: [], creditedCents: 0 });
  t.same(p.target, { kind: 'invoice', invoiceNumber: '1001' });
});

const allowed: { rule: string; name: string; run: () => Payment; expected: Partial<Payment> }[] = [
  {
    rule: 'R24',
    name: 'apply: a new payment pays the enrollment, its overpayment is credit (I4)',
    run: applied,
    expected: { status: 'received', enrollmentId: 'enr_1', memberId: '100000000001', creditedCents: 5000 },
  },
  {
    rule: 'R23',
    name: 'markUnapplied: a new mail payment keeps its whole amount unapplied (I4)',
    run: unapplied,
    expected: { status: 'unapplied', memberId: null, unappliedCents: 50000, enrollmentId: null },
  },
  {
    rule: 'R23',
    name: 'apply: ops applies an unapplied payment; nothing is left unapplied (I4)',
    run: () => apply(unapplied(), enrollment, { applications: [], creditedCents: 50000 }, now),
    expected: { status: 'received', enrollmentId: 'enr_1', unappliedCents: 0, creditedCents: 50000 },
  },
  {
    rule: 'R25',
    name: 'markReturned: an applied payment is returned now, its applications reversed then',
    run: returned,
    expected: { status: 'returned', returnedAt: now, returnReasonCode: 'R01' },
  },
  {
    rule: 'R25',
    name: 'markReturned: an unapplied check is returned with CHECK_RETURNED',
    run: () =>
      markReturned(markUnapplied(fresh({ channel: 'mail', method: 'check' }), 'm', now).payment, {
        reasonCode: 'CHECK_RETURNED',
        returnedAt: undefined,
        now,
        calendar,
      }),
    expected: { status: 'returned', returnReasonCode: 'CHECK_RETURNED', memberId: 'm' },
  },
];
for (const row of allowed) {
  t.test(`${row.rule}: ${row.name}`, async (t) => {
    const p = row.run();
    t.match(p, row.expected);
    if (p.status === 'returned') {
      t.ok(
        p.applications.every((a) => a.reversedAt?.getTime() === p.returnedAt?.getTime()),
        'every application reversed at the return',
      );
    } else {
      t.ok(i4(p), 'I4: amount = applications + credited + unapplied');
    }
  });
}

t.test('R23: markUnapplied records payment.unapplied with the member and amount', async (t) => {
  const { events } = markUnapplied(fresh({ channel: 'mail', method: 'check' }), 'm', now);
  t.same(events, [
    {
      type: 'payment.unapplied',
      occurredAt: now,
      memberId: 'm',
      paymentId: 'pay_1',
      data: { amountCents: 50000, channel: 'mail' },
    },
  ]);
});

const refused: { rule: string; name: string; run: () => unknown; code: string; extra?: Record<string, unknown> }[] = [
  {
    rule: 'R23',
    name: 'apply: an applied payment is not unapplied',
    run: () => apply(applied(), enrollment, settled, now),
    code: 'not_unapplied',
    extra: { currentState: 'received', expectedStates: ['unapplied'] },
  },
  {
    rule: 'R23',
    name: 'apply: a returned payment is not unapplied',
    run: () => apply(returned(), enrollment, settled, now),
    code: 'not_unapplied',
    extra: { currentState: 'returned', expectedStates: ['unapplied'] },
  },
  {
    rule: 'R23',
    name: 'markUnapplied: an applied payment cannot be kept unapplied',
    run: () => markUnapplied(applied(), null, now),
    code: 'not_unapplied',
  },
  {
    rule: 'R23',
    name: 'markUnapplied: a returned payment cannot be kept unapplied',
    run: () => markUnapplied(returned(), null, now),
    code: 'already_returned',
  },
  {
    rule: 'R25',
    name: 'markReturned: a payment is returned once',
    run: () => markReturned(returned(), { reasonCode: 'R01', returnedAt: undefined, now, calendar }),
    code: 'already_returned',
    extra: { currentState: 'returned' },
  },
  {
    rule: 'R25',
    name: 'markReturned: a bank payment needs an ACH code',
    run: () => markReturned(applied(), { reasonCode: 'CHECK_RETURNED', returnedAt: undefined, now, calendar }),
    code: 'invalid_reason_code',
  },
  {
    rule: 'R25',
    name: 'markReturned: R00 is no ACH return code',
    run: () => markReturned(applied(), { reasonCode: 'R00', returnedAt: undefined, now, calendar }),
    code: 'invalid_reason_code',
  },
  {
    rule: 'R25',
    name: 'markReturned: a card payment is not returned here',
    run: () =>
      markReturned(fresh({ method: 'credit_card', bankAccount: undefined }), {
        reasonCode: 'R01',
        returnedAt: undefined,
        now,
        calendar,
      }),
    code: 'invalid_reason_code',
  },
  {
    rule: 'R25',
    name: 'markReturned: money cannot come back before it arrived',
    run: () =>
      markReturned(applied(), { reasonCode: 'R01', returnedAt: new Date('2027-01-11T15:00:00Z'), now, calendar }),
    code: 'timestamp_out_of_range',
  },
];
for (const row of refused) {
  t.test(`${row.rule}: ${row.name}`, async (t) => {
    const err = t.throws(row.run) as DomainError;
    t.ok(err instanceof DomainError, 'a domain refusal');
    t.equal(err.code, row.code);
    if (row.extra) t.match(err.extra, row.extra);
  });
}
