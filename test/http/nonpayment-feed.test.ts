import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { type TestContext, testApp } from '../helpers/app.js';
import { billingRun } from '../helpers/billing.js';
import { newCarrier } from '../helpers/factories.js';
import {
  Calendar,
  confirmedMembers,
  type FeedEvent,
  feed,
  invariantViolations,
  invoiceTable,
  NONPAYMENT_TYPES,
  type NpEnrollment,
  nonpaymentEvents,
  notices,
  PREMIUM,
  payEnrollment,
  reinstate,
  view,
} from '../helpers/nonpayment.js';

// Issue 13: the carrier's events feed for non-payment (R26-R27 with R29-R31), deadline sweeps
// running concurrently (each stage recorded once: one notice, one event), and a billing run racing a
// termination (I1-I5: nothing issued after coverageEnd, nothing twice, no 500).

const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';

/** Several requests at once; every answer must be one of `ok` (I5: never a 500). */
async function together(
  t: Test,
  label: string,
  requests: (() => Promise<LightMyRequestResponse>)[],
  ok = [200, 201],
): Promise<LightMyRequestResponse[]> {
  const answers = await Promise.all(requests.map((r) => r()));
  t.same(
    answers.filter((a) => !ok.includes(a.statusCode)).map((a) => `${a.statusCode} ${a.body.slice(0, 200)}`),
    [],
    `${label}: every answer is ${ok.join(' or ')}`,
  );
  for (const a of answers) {
    const body = a.json() as { enrollmentsFailed?: number };
    if (body.enrollmentsFailed !== undefined) t.equal(body.enrollmentsFailed, 0, `${label}: a sweep failed on nothing`);
  }
  return answers;
}

const sweepRequest = (ctx: TestContext) => () => ctx.request({ method: 'POST', url: '/v1/ops/deadline-sweeps' });

t.test('R27 + R29-R31: each non-payment event exactly once, in order, on its own carrier’s feed only', async (t) => {
  const ctx = await testApp(t);
  const carrierA = await newCarrier(ctx, { id: 'np-feed-a', name: 'Feed Carrier A' });
  const carrierB = await newCarrier(ctx, { id: 'np-feed-b', name: 'Feed Carrier B' });
  const keyA = (await ctx.newKey('carrier', carrierA.id)).secret;
  const keyB = (await ctx.newKey('carrier', carrierB.id)).secret;
  // X (carrier A) falls behind and is cured; Y (carrier A) falls behind, is terminated and
  // reinstated; Z (carrier B) always pays on time.
  const [x0, y0, z0] = await confirmedMembers(ctx, [
    { carrierId: carrierA.id },
    { carrierId: carrierA.id, subsidy: 'none' },
    { carrierId: carrierB.id },
  ]);
  const [x, y, z] = [x0, y0, z0] as [NpEnrollment, NpEnrollment, NpEnrollment];
  const cal = new Calendar(ctx);

  await cal.to('2025-12-10', 10);
  await payEnrollment(ctx, z.id, PREMIUM); // Z: January
  await cal.to('2025-12-24', 2); // X and Y past_due
  await cal.to('2026-01-10', 10);
  await payEnrollment(ctx, x.id, 2 * PREMIUM); // X: January and February, cured
  await payEnrollment(ctx, z.id, PREMIUM); // Z: February
  t.equal((await view(ctx, x.id)).delinquency, null, 'X is cured');
  await cal.to('2026-01-24', 2); // Y terminated
  t.equal((await view(ctx, y.id)).status, 'terminated', 'Y is terminated');
  await cal.to('2026-01-26', 10);
  await payEnrollment(ctx, y.id, 2 * PREMIUM);
  const res = await reinstate(ctx, y.id);
  t.equal(res.statusCode, 200, 'Y is reinstated');

  const mineA = (seen: FeedEvent[]) => seen.filter((e) => NONPAYMENT_TYPES.includes(e.type));
  const seenA = await feed(ctx, keyA, (seen) => mineA(seen).length >= 5);
  const np = mineA(seenA);
  t.same(
    np.filter((e) => e.data.enrollmentId === x.id).map((e) => e.type),
    ['enrollment.delinquent', 'enrollment.delinquency_cured'],
    'X: delinquent then cured, once each',
  );
  t.same(
    np.filter((e) => e.data.enrollmentId === y.id).map((e) => e.type),
    ['enrollment.delinquent', 'enrollment.terminated', 'enrollment.reinstated'],
    'Y: delinquent, terminated, reinstated, once each',
  );
  t.same(
    np.map((e) => e.type).slice(2),
    ['enrollment.delinquency_cured', 'enrollment.terminated', 'enrollment.reinstated'],
    'carrier A sees the four kinds in the order they happened (after the two delinquent events)',
  );
  t.same(
    np
      .slice(0, 2)
      .map((e) => e.type)
      .sort(),
    ['enrollment.delinquent', 'enrollment.delinquent'],
  );
  t.equal(np.length, 5, 'nothing else and nothing twice');
  const ids = seenA.map((e) => e.id);
  t.equal(new Set(ids).size, ids.length, 'no event id twice on the feed');
  t.match(np.find((e) => e.type === 'enrollment.delinquent' && e.data.enrollmentId === y.id)?.data, {
    stage: 'past_due',
    payBy: '2026-01-23',
    firstUnpaidMonth: JAN,
  });
  t.match(np.find((e) => e.type === 'enrollment.terminated')?.data, {
    enrollmentId: y.id,
    coverageEnd: '2025-12-31',
    reason: 'non_payment',
  });
  t.notOk(
    seenA.some((e) => e.data.enrollmentId === z.id),
    "carrier A sees nothing of carrier B's enrollment",
  );

  const seenB = await feed(ctx, keyB);
  t.same(
    seenB.filter((e) => NONPAYMENT_TYPES.includes(e.type)),
    [],
    'carrier B sees none of the non-payment events',
  );
  t.notOk(
    seenB.some((e) => e.data.enrollmentId === x.id || e.data.enrollmentId === y.id),
    "carrier B sees nothing of carrier A's enrollments",
  );
  t.equal((await view(ctx, z.id)).delinquency, null, 'Z stays in good standing');
  const foreign = await ctx.request({ method: 'GET', url: `/v1/enrollments/${y.id}`, key: keyB });
  t.equal(foreign.statusCode, 404, "carrier B cannot read A's terminated-and-reinstated enrollment");
  const own = await ctx.request({ method: 'GET', url: `/v1/enrollments/${y.id}`, key: keyA });
  t.equal(own.statusCode, 200);
  t.equal((own.json() as NpEnrollment).status, 'confirmed', "carrier A reads its enrollment's standing");
});

t.test('concurrent deadline sweeps record each stage once (one notice, one event)', async (t) => {
  const ctx = await testApp(t);
  const [p0, q0] = await confirmedMembers(ctx, [{ subsidy: 'none' }, { subsidy: 'aptc' }]);
  const [p, q] = [p0, q0] as [NpEnrollment, NpEnrollment];
  const cal = new Calendar(ctx, { sweeps: false }); // billing runs only: the sweeps are ours

  const stageDays = [
    { day: '2025-12-24', p: 'past_due', q: 'past_due' },
    { day: '2026-01-24', p: 'terminated', q: 'termination_warning' },
    { day: '2026-02-24', p: 'terminated', q: 'final_termination_warning' },
    { day: '2026-03-24', p: 'terminated', q: 'terminated' },
  ];
  for (const s of stageDays) {
    await cal.to(s.day, 1, 0);
    await together(
      t,
      `${s.day}: six sweeps at once`,
      Array.from({ length: 6 }, () => sweepRequest(ctx)),
    );
    // Then twice more, one after the other: nothing new.
    for (let i = 0; i < 2; i++) await together(t, `${s.day}: again`, [sweepRequest(ctx)]);
    const [pv, qv] = [await view(ctx, p.id), await view(ctx, q.id)];
    t.equal(pv.status === 'terminated' ? 'terminated' : pv.delinquency?.stage, s.p, `${s.day}: P is ${s.p}`);
    t.equal(qv.status === 'terminated' ? 'terminated' : qv.delinquency?.stage, s.q, `${s.day}: Q is ${s.q}`);
  }

  t.equal((await notices(ctx, p.memberId, 'past_due')).length, 1, 'P: one past_due notice');
  t.equal((await notices(ctx, p.memberId, 'termination')).length, 1, 'P: one termination notice');
  for (const type of ['past_due', 'termination_warning', 'final_termination_warning', 'termination']) {
    t.equal((await notices(ctx, q.memberId, type)).length, 1, `Q: one ${type} notice`);
  }
  t.same(
    (await nonpaymentEvents(ctx, p.id, 2)).map((e) => [e.type, e.data.stage ?? null]),
    [
      ['enrollment.delinquent', 'past_due'],
      ['enrollment.terminated', null],
    ],
    'P: each event once',
  );
  t.same(
    (await nonpaymentEvents(ctx, q.id, 4)).map((e) => [e.type, e.data.stage ?? null]),
    [
      ['enrollment.delinquent', 'past_due'],
      ['enrollment.delinquent', 'termination_warning'],
      ['enrollment.delinquent', 'final_termination_warning'],
      ['enrollment.terminated', null],
    ],
    'Q: each event once',
  );
  const [pv, qv] = [await view(ctx, p.id), await view(ctx, q.id)];
  t.equal(pv.coverageEnd, '2025-12-31');
  t.equal(qv.coverageEnd, '2026-01-31');
  t.equal(
    pv.history.filter((h) => h.type === 'status_changed' && h.to === 'terminated').length,
    1,
    'P: one termination in the history',
  );
  t.equal(
    qv.history.filter((h) => h.type === 'status_changed' && h.to === 'terminated').length,
    1,
    'Q: one termination in the history',
  );
  t.same(await invariantViolations(ctx, [p.id, q.id]), [], 'I1-I4 hold');
});

t.test('a billing run racing a termination issues nothing after coverageEnd (I1-I5)', async (t) => {
  const ctx = await testApp(t);
  const members = await confirmedMembers(ctx, [{}, {}, { subsidy: 'aptc' }]);
  const [r, s, u] = members as [NpEnrollment, NpEnrollment, NpEnrollment];
  // February and March are not billed on their 1sts here: their runs race the sweep that terminates
  // R and S (unsubsidised, January unpaid) on 2026-01-24. U (aptc) enters termination_warning.
  const cal = new Calendar(ctx, { sweeps: false, skipRuns: [FEB, MAR] });
  await cal.to('2025-12-24', 1);
  await together(t, 'past_due sweep', [sweepRequest(ctx)]);
  await cal.to('2026-01-10', 10);
  await payEnrollment(ctx, s.id, 20000); // S pays part of January: money that becomes credit

  await cal.to('2026-01-24', 0, 0);
  await together(t, 'runs racing sweeps', [
    () => billingRun(ctx, FEB),
    sweepRequest(ctx),
    () => billingRun(ctx, MAR),
    sweepRequest(ctx),
    () => billingRun(ctx, FEB),
    sweepRequest(ctx),
  ]);
  for (const e of [r, s]) {
    const now = await view(ctx, e.id);
    t.equal(now.status, 'terminated', 'terminated');
    t.equal(now.coverageEnd, '2025-12-31');
    t.same(
      (await invoiceTable(ctx, e.id)).filter(([m, status]) => m >= JAN && status !== 'void'),
      [],
      'no live invoice for January-March after coverageEnd 2025-12-31',
    );
    t.equal((await notices(ctx, e.memberId, 'termination')).length, 1, 'one termination notice');
    t.equal(
      (await nonpaymentEvents(ctx, e.id, 2)).filter((x) => x.type === 'enrollment.terminated').length,
      1,
      'one terminated event',
    );
  }
  t.equal((await view(ctx, s.id)).creditCents, 20000, "S's January money is credit, none lost or doubled");
  const uv = await view(ctx, u.id);
  t.equal(uv.delinquency?.stage, 'termination_warning', 'U (aptc) is warned, not terminated');
  t.same(
    (await invoiceTable(ctx, u.id)).filter(([m, status]) => m >= JAN && status !== 'void').map(([m]) => m),
    [JAN, FEB, MAR],
    'U: one live invoice for each of January-March, issued once whatever the race (I1)',
  );
  t.equal(uv.delinquency?.amountOwedCents, 3 * PREMIUM);

  // The same runs again later change nothing for the terminated members.
  await cal.to('2026-02-01', 9);
  await together(t, 'runs again', [() => billingRun(ctx, FEB), () => billingRun(ctx, MAR), sweepRequest(ctx)]);
  for (const e of [r, s]) {
    t.same(
      (await invoiceTable(ctx, e.id)).filter(([m, status]) => m >= JAN && status !== 'void'),
      [],
      'still nothing live after coverageEnd',
    );
  }
  t.same(await invariantViolations(ctx, [r.id, s.id, u.id]), [], 'I1-I4 hold');
});
