import t from 'tap';
import type { IsoDate } from '../../src/domain/dates.js';
import {
  decideStanding,
  projectedTermination,
  projectTermination,
  reinstate,
  restoreForPaymentInTime,
} from '../../src/domain/nonpayment.js';
import { binder, invoice, PREMIUM, paidEnrollment } from '../helpers/domain.js';

// R29-R31 as writes: what the sweep records for one enrollment (`decideStanding`), what reads project
// of a termination, and what a reinstatement writes. The rules themselves are delinquency.test.ts.
const paidBinder = binder({ amountPaidCents: PREMIUM });
const unpaidFebruary = invoice('inv_feb', '2027-02-01');
const invoices = [paidBinder, unpaidFebruary];
const at = (iso: string) => new Date(iso);

t.test(
  'R29: the first late day records past_due once (history, event, notice); the same record again writes nothing',
  async (t) => {
    const e = paidEnrollment({ status: 'confirmed' });
    t.equal(decideStanding(e, invoices, at('2027-01-23T20:00:00Z')), null, 'on the due date: good standing');
    const d = decideStanding(e, invoices, at('2027-01-24T15:00:00Z'));
    t.ok(d, 'delinquent the day after');
    t.same(
      d?.transitions.map((x) => x.kind),
      ['becameDelinquent'],
    );
    t.same(d?.reconciliation.enrollment?.recordedDelinquency, { anchor: '2027-02-01', stage: 'past_due' });
    t.same(
      d?.reconciliation.events.map((x) => x.type),
      ['enrollment.delinquent'],
    );
    t.same(
      d?.reconciliation.history.map((h) => [h.type, h.from, h.to]),
      [['delinquency_changed', null, 'past_due']],
    );
    t.same(
      d?.notices.map((n) => [n.type, n.payBy]),
      [['past_due', '2027-02-23']],
    );
    const recorded = { ...e, recordedDelinquency: { anchor: '2027-02-01' as IsoDate, stage: 'past_due' as const } };
    t.equal(decideStanding(recorded, invoices, at('2027-01-30T15:00:00Z')), null, 'recorded: nothing to write');
  },
);

t.test(
  'R30: termination voids the months after coverageEnd (their money to credit) and restores nothing else',
  async (t) => {
    const march = invoice('inv_mar', '2027-03-01', { amountPaidCents: 1000 });
    const e = paidEnrollment({
      status: 'confirmed',
      recordedDelinquency: { anchor: '2027-02-01' as IsoDate, stage: 'past_due' },
    });
    const now = at('2027-02-24T15:00:00Z');
    const d = decideStanding(e, [...invoices, march], now);
    t.same(
      d?.transitions.map((x) => x.kind),
      ['terminated'],
    );
    t.match(d?.reconciliation.enrollment, {
      status: 'terminated',
      recordedDelinquency: null,
      creditDeltaCents: 1000,
      termination: {
        coverageEnd: '2027-01-31',
        reason: 'non_payment',
        terminatedOn: '2027-02-24',
        statusBefore: 'confirmed',
      },
    });
    t.same(
      d?.reconciliation.invoices.map((i) => i.invoiceId),
      ['inv_feb', 'inv_mar'],
    );
    t.same(
      d?.notices.map((n) => [n.type, n.coverageEnd]),
      [['termination', '2027-01-31']],
    );
    const projected = projectedTermination(e, [...invoices, march], now);
    t.equal(projected?.coverageEnd, '2027-01-31', 'reads project the same coverageEnd');
    t.ok(projectTermination(march, projected).voidedAt, 'and show March void');
    t.equal(projectTermination(paidBinder, projected).voidedAt, null, 'January stays live');
  },
);

t.test(
  'R31: reinstatement restores the status, clears the termination, and reissues the months from credit',
  async (t) => {
    const e = paidEnrollment({
      status: 'terminated',
      terminationReason: 'non_payment',
      terminatedOn: '2027-02-24' as IsoDate,
      coverageEnd: '2027-01-31' as IsoDate,
      statusBeforeTermination: 'confirmed',
      creditCents: 2 * PREMIUM,
    });
    const voided = [paidBinder, { ...unpaidFebruary, voidedAt: at('2027-02-24T05:00:00Z') }];
    const r = reinstate(e, voided, at('2027-02-25T15:00:00Z'), { actor: 'k', reason: 'reinstated', paperless: true });
    t.same(
      r.reissued.map((i) => [i.coverageMonth, i.creditAppliedCents, i.delivery]),
      [
        ['2027-02-01', PREMIUM, 'paperless'],
        ['2027-03-01', PREMIUM, 'paperless'],
      ],
    );
    t.match(r.reconciliation.enrollment, { status: 'confirmed', clearTermination: true, recordedDelinquency: null });
    t.same(
      r.reconciliation.events.map((x) => x.type),
      ['enrollment.reinstated'],
    );
    t.throws(
      () =>
        reinstate({ ...e, creditCents: PREMIUM }, voided, at('2027-02-25T15:00:00Z'), {
          actor: 'k',
          reason: 'r',
          paperless: true,
        }),
      { code: 'reinstatement_payment_required', extra: { amountRequiredCents: 2 * PREMIUM, shortfallCents: PREMIUM } },
    );
  },
);

t.test('R2/R29: a write judges the standing as of the payment (asOf), records it at now, by its actor', async (t) => {
  const e = paidEnrollment({
    status: 'confirmed',
    recordedDelinquency: { anchor: '2027-02-01' as IsoDate, stage: 'past_due' },
  });
  const now = at('2027-02-24T05:02:00Z'); // 00:02 New York, the day after the pay-by date 2027-02-23
  t.same(
    decideStanding(e, invoices, now)?.transitions.map((x) => x.kind),
    ['terminated'],
    'as of the clock: terminated',
  );
  t.equal(
    decideStanding(e, invoices, now, { asOf: at('2027-02-24T04:59:30Z') }),
    null,
    'as of a payment received 23:59:30 on the pay-by date: still past_due, nothing to write',
  );
  const fresh = paidEnrollment({ status: 'confirmed' });
  const d = decideStanding(fresh, invoices, now, { asOf: at('2027-02-10T15:00:00Z'), actor: 'key_ops' });
  t.same(d?.reconciliation.enrollment?.recordedDelinquency, { anchor: '2027-02-01', stage: 'past_due' });
  t.same(
    d?.reconciliation.history.map((h) => [h.to, h.at.toISOString(), h.actor]),
    [['past_due', now.toISOString(), 'key_ops']],
    'written at now (history in order), by the key that caused it',
  );
  t.equal(
    decideStanding(e, invoices, at('2027-02-24T05:02:00Z'), { asOf: at('2027-03-30T00:00:00Z') })?.transitions[0]?.kind,
    'terminated',
    'asOf after now counts as now',
  );
});

t.test('R14/R30: a termination caused by a write (a return) is dated at that write, never before', async (t) => {
  const e = paidEnrollment({ status: 'confirmed' });
  const returnedAt = at('2027-03-26T14:00:00Z');
  const plain = decideStanding(e, invoices, returnedAt);
  const termination = plain?.reconciliation.enrollment?.termination;
  t.equal(termination?.terminatedOn, '2027-02-24', 'judged from the facts alone: the day after the pay-by date');
  const d = decideStanding(e, invoices, returnedAt, { notBefore: returnedAt });
  t.match(d?.reconciliation.enrollment?.termination, {
    terminatedOn: '2027-03-26',
    terminatedAt: returnedAt,
    coverageEnd: termination?.coverageEnd,
  });
  t.same(
    d?.reconciliation.history.filter((h) => h.to === 'terminated').map((h) => h.at.toISOString()),
    [returnedAt.toISOString()],
  );
  t.same(
    d?.reconciliation.invoices.map((i) => i.voidedAt?.toISOString()),
    d?.reconciliation.invoices.map(() => returnedAt.toISOString()),
    'the months voided are voided at the return',
  );
  const early = decideStanding(e, invoices, at('2027-02-24T15:00:00Z'), { notBefore: at('2027-02-24T06:00:00Z') });
  t.equal(
    early?.reconciliation.enrollment?.termination?.terminatedOn,
    '2027-02-24',
    'a write on the termination date itself keeps the date',
  );
});

t.test(
  'R2/R30: money received in time undoes a recorded termination only when it would have prevented it',
  async (t) => {
    const terminatedAt = at('2027-02-24T05:00:00Z');
    const terminated = paidEnrollment({
      status: 'terminated',
      confirmedAt: at('2026-12-20T15:00:00Z'),
      coverageEnd: '2027-01-31' as IsoDate,
      terminationReason: 'non_payment',
      terminatedAt,
      terminatedOn: '2027-02-24' as IsoDate,
      statusBeforeTermination: 'confirmed',
      creditCents: PREMIUM,
    });
    const facts = [paidBinder, { ...unpaidFebruary, voidedAt: terminatedAt }];
    const now = at('2027-02-26T15:00:00Z');
    const by = { actor: 'key_ops', paperless: true, receivedAt: at('2027-02-20T15:00:00Z') };
    const r = restoreForPaymentInTime(terminated, facts, now, { ...by, paidInTimeCents: PREMIUM });
    t.match(r?.reconciliation.enrollment, { status: 'confirmed', clearTermination: true, recordedDelinquency: null });
    t.same(
      r?.reissued.map((m) => [m.coverageMonth, m.creditAppliedCents]),
      [
        ['2027-02-01', PREMIUM],
        ['2027-03-01', 0],
      ],
      'February reissued paid from the money; March (not due before the termination) open',
    );
    t.same(
      r?.reconciliation.events.map((e) => [e.type, e.data?.reason]),
      [['enrollment.reinstated', 'paid_by_pay_by_date']],
    );
    t.equal(
      restoreForPaymentInTime(terminated, facts, now, { ...by, paidInTimeCents: 100 }),
      null,
      'only 100 cents came in time (the rest of the credit later): the termination stands',
    );
    t.equal(
      restoreForPaymentInTime({ ...terminated, status: 'confirmed' }, facts, now, { ...by, paidInTimeCents: PREMIUM }),
      null,
      'nothing to undo on an enrollment that is not terminated',
    );
  },
);
