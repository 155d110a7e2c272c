import t from 'tap';
import { testApp } from '../helpers/app.js';
import { type InvoiceJson, invoicesOfEnrollment } from '../helpers/billing.js';
import {
  at,
  businessDateOf,
  Calendar,
  chronological,
  confirmedMembers,
  invariantViolations,
  liveInvoiceOf,
  mailCheck,
  type NpEnrollment,
  nonpaymentEvents,
  ny,
  PREMIUM,
  payEnrollment,
  sweepOk,
  unpaidJanuary,
  view,
} from '../helpers/nonpayment.js';
import { bankAccount, check, payOk, returnPayment } from '../helpers/payments.js';
import { expectStatus } from '../helpers/responses.js';

// Issue 13, the second black-box review's findings D1-D3 (docs/review-issue13.md), written from SPEC
// before the fix: money is judged by its business date also when it pays only part of what a stage
// asked for (R2, R29), a termination it would have prevented is undone (R30), and a return
// re-anchors the episode on the first unpaid month (R25, R29).

const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';

t.test(
  'D1 (R2, R29): January paid at 23:59:30 on the pay-by date, posted after midnight: cured, February is a new episode',
  async (t) => {
    const ctx = await testApp(t);
    const e = await unpaidJanuary(ctx);
    const cal = new Calendar(ctx);
    await cal.to('2026-01-24', 0, 2);
    await payOk(ctx, {
      channel: 'online',
      method: 'checking',
      amountCents: PREMIUM,
      enrollmentId: e.id,
      receivedAt: ny('2026-01-23', 23, 59),
      ...bankAccount(),
    });
    const v = await view(ctx, e.id);
    t.equal(v.status, 'confirmed', 'every invoice past due on 2026-01-23 was paid then: cured, not terminated');
    t.match(
      v.delinquency,
      { stage: 'past_due', firstUnpaidMonth: FEB, payBy: '2026-02-23' },
      'February late from 2026-01-24',
    );
    await sweepOk(ctx);
    t.match(await view(ctx, e.id), { status: 'confirmed', delinquency: { firstUnpaidMonth: FEB } }, 'the sweep agrees');
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  },
);

t.test(
  'D1 (R2, R30): a check for January received in time, posted after the recorded termination, restores it',
  async (t) => {
    const ctx = await testApp(t);
    const e = await unpaidJanuary(ctx);
    const cal = new Calendar(ctx);
    await cal.to('2026-01-26', 10);
    t.equal((await view(ctx, e.id)).status, 'terminated', 'the 2026-01-24 sweep recorded the termination');
    const january = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === JAN) as InvoiceJson;
    await payOk(ctx, mailCheck(PREMIUM, ny('2026-01-22', 10), january.invoiceNumber));
    const v = await view(ctx, e.id);
    t.equal(v.status, 'confirmed', 'January was paid before its pay-by date: the termination is undone');
    t.match(v.delinquency, { stage: 'past_due', firstUnpaidMonth: FEB, payBy: '2026-02-23' }, 'February is owed');
    t.equal((await liveInvoiceOf(ctx, e.id, JAN))?.status, 'paid');
    t.equal((await liveInvoiceOf(ctx, e.id, FEB))?.status, 'open');
    chronological(t, v, 'D1');
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  },
);

t.test('D1 (R2): a check received in time that does not cover January leaves the termination', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx);
  const cal = new Calendar(ctx);
  await cal.to('2026-01-26', 10);
  await payOk(ctx, {
    channel: 'online',
    method: 'checking',
    amountCents: PREMIUM - 1,
    enrollmentId: e.id,
    ...bankAccount(),
  });
  const mail = await payOk(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 100,
    receivedAt: ny('2026-01-22', 10),
    remittance: { memberId: e.memberId, firstName: 'Nobody', lastName: 'Known', carrierName: 'Nobody Health' },
    ...check(),
  });
  t.equal(mail.status, 'unapplied');
  const res = await ctx.request({
    method: 'POST',
    url: `/v1/ops/unapplied-payments/${mail.id}/application`,
    payload: { enrollmentId: e.id },
  });
  expectStatus(res, 200);
  const v = await view(ctx, e.id);
  t.equal(v.status, 'terminated', 'only 100 cents arrived by the pay-by date (the rest came later): still terminated');
  t.equal(v.creditCents, PREMIUM + 99, 'all of it is credit');
});

t.test(
  'D2 (R2, R29): a subsidised member whose check was received in time, posted after a stage advanced, is cured',
  async (t) => {
    const ctx = await testApp(t);
    const e = await unpaidJanuary(ctx, 'aptc');
    const cal = new Calendar(ctx);
    await cal.to('2026-01-26', 10); // termination_warning recorded on 2026-01-24
    t.match((await view(ctx, e.id)).delinquency, { stage: 'termination_warning', firstUnpaidMonth: JAN });
    const january = (await liveInvoiceOf(ctx, e.id, JAN)) as InvoiceJson;
    await payOk(ctx, mailCheck(2 * PREMIUM, ny('2026-01-22', 10), january.invoiceNumber));
    const v = await view(ctx, e.id);
    t.equal(v.delinquency, null, 'January and February paid before February was due: cured');
    t.equal((await liveInvoiceOf(ctx, e.id, FEB))?.status, 'paid');
    const types = (await nonpaymentEvents(ctx, e.id, 3)).map((x) => x.type);
    t.same(types, ['enrollment.delinquent', 'enrollment.delinquent', 'enrollment.delinquency_cured']);
  },
);

t.test('D3 (R25, R29): a return re-anchors the episode on the first unpaid month', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx, 'aptc');
  const cal = new Calendar(ctx);
  await cal.to('2026-01-20', 10); // past_due (U January) recorded on 2025-12-24
  const p = await payEnrollment(ctx, e.id, 2 * PREMIUM); // January and February: cured
  t.equal((await view(ctx, e.id)).delinquency, null);
  await cal.to('2026-02-26', 10); // March unpaid: past_due U March since 2026-02-24
  t.match((await view(ctx, e.id)).delinquency, { stage: 'past_due', firstUnpaidMonth: MAR });
  expectStatus(await returnPayment(ctx, p.id, { reasonCode: 'R01' }), 201);
  const v = await view(ctx, e.id);
  t.match(
    v.delinquency,
    { stage: 'final_termination_warning', firstUnpaidMonth: JAN, payBy: '2026-03-23' },
    'U is January again: a bounced payment earns no grace beyond not paying',
  );
  await sweepOk(ctx);
  t.match((await view(ctx, e.id)).delinquency, { firstUnpaidMonth: JAN }, 'the sweep agrees');
  await cal.to('2026-03-24', 2);
  t.match(await view(ctx, e.id), { status: 'terminated', coverageEnd: '2026-01-31' });
});

t.test(
  'D4 (R2, R25, R30): after a termination caused by a return, a check received after the pay-by date restores nothing',
  async (t) => {
    const ctx = await testApp(t);
    const e = await unpaidJanuary(ctx);
    const cal = new Calendar(ctx);
    await cal.to('2025-12-10', 10);
    const january = await payEnrollment(ctx, e.id, PREMIUM);
    await cal.to('2026-01-05', 10);
    await payEnrollment(ctx, e.id, PREMIUM); // February
    await cal.to('2026-01-25', 10);
    expectStatus(await returnPayment(ctx, january.id, { reasonCode: 'R01' }), 201);
    const terminated = await view(ctx, e.id);
    t.equal(
      terminated.status,
      'terminated',
      'January unpaid after its pay-by date (2026-01-23): terminated at the return',
    );
    t.equal(businessDateOf(String(terminated.terminatedAt)), '2026-01-25');
    await at(ctx, '2026-01-27', 10);
    const invoice = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === JAN) as InvoiceJson;
    await payOk(ctx, mailCheck(PREMIUM, ny('2026-01-24', 10), invoice.invoiceNumber));
    const v = await view(ctx, e.id);
    t.equal(v.status, 'terminated', 'received 2026-01-24, a day after the pay-by date: not in time, no restore');
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  },
);

t.test('D2b (R25, R29): two returns in either order end the same way (U is the first unpaid month)', async (t) => {
  const ctx = await testApp(t);
  const [a0, b0] = await confirmedMembers(ctx, [{}, {}]);
  const [a, b] = [a0, b0] as NpEnrollment[] as [NpEnrollment, NpEnrollment];
  const cal = new Calendar(ctx);
  await cal.to('2025-12-10', 10);
  const janA = await payEnrollment(ctx, a.id, PREMIUM);
  const janB = await payEnrollment(ctx, b.id, PREMIUM);
  await cal.to('2026-01-05', 10);
  const febA = await payEnrollment(ctx, a.id, PREMIUM);
  const febB = await payEnrollment(ctx, b.id, PREMIUM);
  await cal.to('2026-01-26', 10); // January's pay-by date (2026-01-23) has passed
  expectStatus(await returnPayment(ctx, febA.id, { reasonCode: 'R01' }), 201);
  expectStatus(await returnPayment(ctx, janA.id, { reasonCode: 'R01' }), 201);
  expectStatus(await returnPayment(ctx, janB.id, { reasonCode: 'R01' }), 201);
  expectStatus(await returnPayment(ctx, febB.id, { reasonCode: 'R01' }), 201);
  const [va, vb] = [await view(ctx, a.id), await view(ctx, b.id)];
  t.equal(va.status, 'terminated', 'February then January returned: January unpaid past its pay-by date');
  t.equal(vb.status, 'terminated', 'January then February returned: the same');
  t.equal(va.coverageEnd, '2025-12-31');
  t.equal(vb.coverageEnd, '2025-12-31');
  t.same(await invariantViolations(ctx, [a.id, b.id]), [], 'I1-I4 hold');
});
