import { randomBytes } from 'node:crypto';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf, getInvoice } from '../helpers/billing.js';
import { luhnDigit } from '../helpers/cards.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { check, getPayment, moneyOrder, pay } from '../helpers/payments.js';

// Findings of the black-box review of issues 14 and 15 (docs/review-issue14-15.md), each written as
// SPEC states the rule, before the fix: the card screen and fixed-format fields (finding 3), and
// R33/R34's order for a single mail payment (a scan line that does not match, then the remittance).

const ctx = await testApp(t);
await setClock(ctx, '2026-12-10T15:00:00Z');
const harbor = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const ops = await ctx.newKey('ops');

const LUHN_15 = '378282246310005'; // 15 digits, Luhn-valid
const scanLineOf = (invoiceNumber: string, amountCents: number) => {
  const amount = String(amountCents).padStart(11, '0');
  return `${invoiceNumber} ${amount} ${luhnDigit(invoiceNumber + amount)}`;
};
const item = (sequence: number, extra: Record<string, unknown>) => ({
  sequence,
  method: 'check',
  amountCents: 45000,
  checkNumber: String(1000 + sequence),
  payableTo: 'Health Connector',
  ...extra,
});
const depositOf = (items: Record<string, unknown>[]) => ({
  depositId: `LBX-${randomBytes(6).toString('hex')}`,
  depositDate: '2026-12-10',
  items,
  control: { itemCount: items.length, totalCents: items.reduce((s, i) => s + (i.amountCents as number), 0) },
});
const postDeposit = (body: unknown) =>
  ctx.request({ method: 'POST', url: '/v1/ops/lockbox-deposits', key: ops.secret, payload: body as object });

t.test('finding 3: check and serial numbers in their own format are never refused by the card screen', async (t) => {
  // Nacha's check serial number field has 15 positions: a check or money order number is 1 to 15
  // digits (a serial may carry a short issuer prefix). A 15-digit Luhn-valid number there (the
  // shape of an American Express number) is a check number; 16 or more digits are not a check
  // number in that format and are screened like free text (data-safety.test.ts covers the refusal).
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const binder = await binderOf(ctx, e);
  const remittance = {
    memberId: e.memberId,
    firstName: 'Maria',
    lastName: 'Santos',
    carrierName: 'Harbor Health Plan',
  };
  const res = await postDeposit(
    depositOf([
      item(1, { checkNumber: LUHN_15, scanLine: scanLineOf(binder.invoiceNumber, binder.amountDueCents) }),
      { ...item(2, { remittance }), method: 'money_order', checkNumber: undefined, serialNumber: `MO-${LUHN_15}` },
    ]),
  );
  t.equal(res.statusCode, 201, res.body);
  const items = res.json().items as { sequence: number; outcome: string; notes: string[] }[];
  t.equal(items[0]?.outcome, 'applied', 'a 15-digit Luhn-valid check number is a check number');
  t.equal(items[1]?.outcome, 'applied', 'a serial number in its format too (paid by remittance)');
  const stored = JSON.stringify(await ctx.database.db.selectFrom('payments').selectAll().execute());
  t.ok(stored.includes(LUHN_15), 'the check number is kept as written (it is not card data)');

  const single = await pay(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 100,
    remittance,
    ...check({ checkNumber: LUHN_15 }),
  });
  t.equal(single.statusCode, 201, single.body);
  const mo = await pay(ctx, {
    channel: 'mail',
    method: 'money_order',
    amountCents: 100,
    remittance,
    ...moneyOrder({ serialNumber: LUHN_15 }),
  });
  t.equal(mo.statusCode, 201, mo.body);
  // The same digits where free text is expected are refused.
  const inName = await pay(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 100,
    remittance: { ...remittance, lastName: `Santos ${LUHN_15}` },
    ...check(),
  });
  t.equal(inName.json().code, 'card_number_not_allowed');
});

t.test('R33/R34 for a single mail payment: a scan line that does not match, then the remittance', async (t) => {
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const binder = await binderOf(ctx, e);
  const good = scanLineOf(binder.invoiceNumber, binder.amountDueCents);
  const badDigit = `${good.slice(0, -1)}${(Number(good.slice(-1)) + 1) % 10}`;
  const remittance = {
    memberId: e.memberId,
    firstName: 'Maria',
    lastName: 'Santos',
    carrierName: 'Harbor Health Plan',
  };
  const mail = (scanLine: string, extra: Record<string, unknown> = {}) =>
    pay(ctx, { channel: 'mail', method: 'check', amountCents: 20000, slip: { scanLine }, ...check(), ...extra });

  const bad = await mail(badDigit);
  t.equal(bad.statusCode, 201, bad.body);
  t.equal(bad.json().status, 'unapplied', 'a failing check digit alone: kept for ops');

  const fallback = await mail(badDigit, { remittance });
  t.equal(fallback.statusCode, 201, fallback.body);
  t.equal(fallback.json().status, 'received', 'the remittance on the check matches instead');
  t.same(
    (await getPayment(ctx, fallback.json().id)).applications.map((a) => a.invoiceId),
    [binder.id],
  );
  // A scan line whose amount is not the amount due (it was partly paid) falls back too.
  const stale = await mail(good, { remittance });
  t.equal(stale.json().status, 'received', 'scan line amount differs from the amount due: remittance decides');
  t.same(
    stale.json().applications.map((a: { invoiceId: string }) => a.invoiceId),
    [binder.id],
  );
  t.equal((await getInvoice(ctx, binder.id)).amountPaidCents, 40000);
  // A remittance that does not match either: unapplied, as before.
  const neither = await mail(badDigit, { remittance: { ...remittance, lastName: 'Someone Else' } });
  t.equal(neither.json().status, 'unapplied');

  // The lockbox decides the same item the same way.
  const res = await postDeposit(depositOf([item(1, { amountCents: 5000, scanLine: badDigit, remittance })]));
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json().items[0], { outcome: 'applied', matchedBy: 'remittance', notes: ['scan_line_check_digit'] });
});
