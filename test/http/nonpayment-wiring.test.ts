import t from 'tap';
import { testApp } from '../helpers/app.js';
import {
  billingRunOk,
  cancelEnrollment,
  confirmInDb,
  eventsOf,
  getEnrollment,
  invoicesOfEnrollment,
} from '../helpers/billing.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { bankAccount, payOk } from '../helpers/payments.js';
import { moneyViolations } from '../helpers/safety.js';

// Issue 13 wiring (R28-R31): the sweep records each stage once, reads agree before it runs, the
// termination voids later months, money on a terminated enrollment is credit, reinstatement.
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Nonpayment Wiring Health' });

const bank = (amountCents: number, enrollmentId: string) => ({
  channel: 'online',
  method: 'checking',
  amountCents,
  enrollmentId,
  ...bankAccount(),
});

interface Delinquency {
  stage: string;
  firstUnpaidMonth: string;
  payBy: string;
  amountOwedCents: number;
  monthsOwed: string[];
}
type View = Awaited<ReturnType<typeof getEnrollment>> & {
  subsidy: string;
  delinquency: Delinquency | null;
  coverageEnd: string | null;
  terminationReason: string | null;
  terminatedAt: string | null;
};
const view = async (id: string) => (await getEnrollment(ctx, id)) as View;

async function sweepNow() {
  const res = await ctx.request({ method: 'POST', url: '/v1/ops/deadline-sweeps' });
  if (res.statusCode !== 200) throw new Error(`sweep: ${res.statusCode} ${res.body}`);
  return res.json() as { enrollmentsMoved: number; standingsRecorded: number; enrollmentsFailed: number };
}

async function notices(enrollmentId: string) {
  const res = await ctx.request({ method: 'GET', url: `/v1/notices?enrollmentId=${enrollmentId}` });
  return (res.json() as { data: Record<string, unknown>[] }).data;
}

/** Confirmed; binder (November 2025) and December paid; January billed on 2025-12-01 and left unpaid. */
async function memberWithUnpaidJanuary(subsidy: string) {
  await setClock(ctx, '2025-10-20T10:00:00-04:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2025-11-01', subsidy });
  await payOk(ctx, bank(45000, e.id));
  await confirmInDb(ctx, e.id, '2025-10-22T15:00:00Z');
  await setClock(ctx, '2025-11-01T09:00:00-04:00');
  await billingRunOk(ctx, '2025-12-01');
  await payOk(ctx, bank(45000, e.id));
  await setClock(ctx, '2025-12-01T09:00:00-05:00');
  await billingRunOk(ctx, '2026-01-01');
  return e;
}

t.test(
  'none: past_due recorded once, then terminated with coverageEnd 2025-12-31; reinstated from credit',
  async (t) => {
    const e = await memberWithUnpaidJanuary('none');
    t.equal((await view(e.id)).subsidy, 'none');
    await setClock(ctx, '2025-12-23T23:59:00-05:00');
    t.equal((await view(e.id)).delinquency, null, 'not delinquent on the due date');

    await setClock(ctx, '2025-12-24T09:00:00-05:00');
    const before = await view(e.id);
    t.same(
      before.delinquency,
      {
        stage: 'past_due',
        firstUnpaidMonth: '2026-01-01',
        payBy: '2026-01-23',
        amountOwedCents: 90000,
        monthsOwed: ['2026-01-01', '2026-02-01'],
      },
      'a read shows the stage before the sweep ran',
    );
    const listed = await ctx.request({
      method: 'GET',
      url: `/v1/enrollments?delinquency=past_due&memberId=${e.memberId}`,
    });
    t.same(
      (listed.json() as { data: { id: string }[] }).data.map((x) => x.id),
      [e.id],
      '?delinquency= agrees with the read before the sweep',
    );
    t.equal((await sweepNow()).standingsRecorded, 1, 'the sweep records the stage');
    t.equal((await sweepNow()).standingsRecorded, 0, 'a second sweep records nothing');
    t.same((await view(e.id)).delinquency, before.delinquency, 'the read after the sweep is the same');
    t.equal((await eventsOf(ctx, e.id, 'enrollment.delinquent')).length, 1, 'enrollment.delinquent once');
    const pastDue = (await notices(e.id)).filter((n) => n.type === 'past_due');
    t.equal(pastDue.length, 1, 'one past_due notice');
    t.match(pastDue[0], { payBy: '2026-01-23', amountOwedCents: 90000, monthsOwed: ['2026-01-01', '2026-02-01'] });

    await setClock(ctx, '2026-01-01T09:00:00-05:00');
    await billingRunOk(ctx, '2026-02-01');
    await setClock(ctx, '2026-01-24T09:00:00-05:00');
    const projected = await view(e.id);
    t.equal(projected.status, 'terminated', 'a read shows the termination before the sweep');
    t.equal(projected.coverageEnd, '2025-12-31');
    t.equal(projected.terminationReason, 'non_payment');
    t.equal((await sweepNow()).standingsRecorded, 1);
    t.equal((await sweepNow()).standingsRecorded, 0);
    const terminated = await view(e.id);
    t.same(
      { status: terminated.status, coverageEnd: terminated.coverageEnd, terminatedAt: terminated.terminatedAt },
      { status: projected.status, coverageEnd: projected.coverageEnd, terminatedAt: projected.terminatedAt },
      'the sweep recorded what the read showed',
    );
    const invoices = await invoicesOfEnrollment(ctx, e.id);
    t.same(
      invoices.filter((i) => i.coverageMonth > '2025-12-31').map((i) => i.status),
      ['void', 'void'],
      'January and February are void',
    );
    t.match(
      (await notices(e.id)).find((n) => n.type === 'termination'),
      { coverageEnd: '2025-12-31' },
    );
    t.equal((await eventsOf(ctx, e.id, 'enrollment.terminated')).length, 1, 'enrollment.terminated once');

    await billingRunOk(ctx, '2026-03-01');
    t.notOk(
      (await invoicesOfEnrollment(ctx, e.id)).some((i) => i.coverageMonth === '2026-03-01'),
      'R30: no invoice after coverageEnd',
    );

    const paid = await payOk(ctx, bank(10000, e.id));
    t.equal(paid.creditedCents, 10000, 'R24: money on a terminated enrollment is credit');
    const short = await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/reinstatement` });
    t.equal(short.statusCode, 422);
    t.match(short.json(), {
      code: 'reinstatement_payment_required',
      amountRequiredCents: 90000,
      shortfallCents: 80000,
    });
    await payOk(ctx, bank(80000, e.id));
    const back = await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/reinstatement` });
    t.equal(back.statusCode, 200, back.body);
    t.match(back.json(), {
      status: 'confirmed',
      coverageEnd: null,
      terminationReason: null,
      creditCents: 0,
    });
    const live = (await invoicesOfEnrollment(ctx, e.id)).filter(
      (i) => i.status !== 'void' && i.coverageMonth > '2025-12-31',
    );
    t.same(
      live.map((i) => [i.coverageMonth, i.status]),
      [
        ['2026-01-01', 'paid'],
        ['2026-02-01', 'paid'],
      ],
      'January and February reissued, paid from credit',
    );
    t.equal((await eventsOf(ctx, e.id, 'enrollment.reinstated')).length, 1);
    const again = await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/reinstatement` });
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, 'not_reinstatable');
    t.same(await moneyViolations(ctx, [e.memberId]), [], 'I4');
  },
);

t.test('aptc: a payment in full on the pay-by date cures, recorded by the payment itself', async (t) => {
  const e = await memberWithUnpaidJanuary('aptc');
  await setClock(ctx, '2025-12-24T09:00:00-05:00');
  await sweepNow();
  await setClock(ctx, '2026-01-23T23:59:00-05:00');
  t.equal((await view(e.id)).delinquency?.stage, 'past_due');
  await payOk(ctx, bank(45000, e.id));
  t.equal((await view(e.id)).delinquency, null, 'cured');
  t.equal((await eventsOf(ctx, e.id, 'enrollment.delinquency_cured')).length, 1, 'the cure is recorded at once');
  t.equal((await sweepNow()).standingsRecorded, 0, 'nothing left for the sweep');
});

t.test('aptc: stages walk to termination with coverageEnd the last day of U', async (t) => {
  const e = await memberWithUnpaidJanuary('aptc');
  await setClock(ctx, '2026-01-24T09:00:00-05:00');
  t.match((await view(e.id)).delinquency, { stage: 'termination_warning', payBy: '2026-02-23' });
  await sweepNow();
  await setClock(ctx, '2026-02-24T09:00:00-05:00');
  t.match((await view(e.id)).delinquency, { stage: 'final_termination_warning', payBy: '2026-03-23' });
  const listed = await ctx.request({ method: 'GET', url: `/v1/enrollments?delinquency=any&memberId=${e.memberId}` });
  t.equal((listed.json() as { data: unknown[] }).data.length, 1);
  await sweepNow();
  await setClock(ctx, '2026-03-24T09:00:00-05:00');
  await sweepNow();
  const v = await view(e.id);
  t.equal(v.status, 'terminated');
  t.equal(v.coverageEnd, '2026-01-31');
  t.same(
    (await notices(e.id)).map((n) => n.type),
    ['termination_warning', 'final_termination_warning', 'termination'],
    'one notice per recorded stage (past_due was skipped: no sweep ran while it was current)',
  );
});

t.test('a cancelled enrollment is not reinstatable', async (t) => {
  await setClock(ctx, '2025-10-20T10:00:00-04:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2025-11-01' });
  await cancelEnrollment(ctx, e.id);
  const res = await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/reinstatement` });
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'not_reinstatable');
});

t.test(
  'concurrent sweeps record each stage once; a billing run racing a termination leaves no invoice after coverageEnd',
  async (t) => {
    const e = await memberWithUnpaidJanuary('none');
    await setClock(ctx, '2025-12-24T09:00:00-05:00');
    const first = await Promise.all([sweepNow(), sweepNow(), sweepNow()]);
    t.equal(
      first.reduce((n, r) => n + r.enrollmentsFailed, 0),
      0,
      'no sweep fails',
    );
    t.equal((await eventsOf(ctx, e.id, 'enrollment.delinquent')).length, 1, 'enrollment.delinquent once');
    t.equal((await notices(e.id)).filter((n) => n.type === 'past_due').length, 1, 'one past_due notice');

    await setClock(ctx, '2026-01-24T09:00:00-05:00');
    const [run] = await Promise.all([
      ctx.request({ method: 'POST', url: '/v1/billing-runs', payload: { coverageMonth: '2026-02-01' } }),
      sweepNow(),
      sweepNow(),
    ]);
    t.ok([200, 201].includes(run.statusCode), `the run answers ${run.statusCode}`);
    await sweepNow();
    t.equal((await view(e.id)).status, 'terminated');
    const after = (await invoicesOfEnrollment(ctx, e.id)).filter(
      (i) => i.coverageMonth > '2025-12-31' && i.status !== 'void',
    );
    t.same(after, [], 'I2: no live invoice after coverageEnd');
    t.equal((await eventsOf(ctx, e.id, 'enrollment.terminated')).length, 1, 'enrollment.terminated once');
    t.same(await moneyViolations(ctx, [e.memberId]), [], 'I4');
  },
);
