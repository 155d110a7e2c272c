import t from 'tap';
import { testApp } from '../helpers/app.js';
import { getInvoice } from '../helpers/billing.js';
import { luhnDigit } from '../helpers/cards.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { check, pay, payOk, unappliedQueue } from '../helpers/payments.js';
import { pdfText } from '../helpers/pdf.js';
import { expectProblem, expectStatus } from '../helpers/responses.js';

// R33 over HTTP: a mail payment that comes with the bill's scan line (`slip.scanLine`, as the
// lockbox's scanner reads it) pays that invoice only when the line's check digit holds and its
// amount is the invoice's amount due; otherwise the money is kept unapplied for ops (R23).
const ctx = await testApp(t);
await setClock(ctx, '2026-12-10T15:00:00Z');
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });

const scan = (invoiceNumber: string, cents: number) => {
  const amount = String(cents).padStart(11, '0');
  return `${invoiceNumber} ${amount} ${luhnDigit(invoiceNumber + amount)}`;
};
const mailWith = (scanLine: string, amountCents = 45012) => ({
  channel: 'mail',
  method: 'check',
  amountCents,
  slip: { scanLine },
  ...check(),
});

async function binder() {
  const e = await newEnrollment(ctx, {
    carrierId: carrier.id,
    coverageStart: '2027-01-01',
    monthlyPremiumCents: 45012,
  });
  return getInvoice(ctx, e.binderInvoiceId);
}

t.test('the scan line printed on the bill pays its invoice', async (t) => {
  const invoice = await binder();
  const pdf = await ctx.request({ method: 'GET', url: `/v1/invoices/${invoice.id}/bill.pdf` });
  expectStatus(pdf, 200);
  const printed = /\d{10} \d{11} \d/.exec(pdfText(pdf.rawPayload))?.[0];
  t.equal(printed, scan(invoice.invoiceNumber, 45012), 'the bill prints the scan line');
  const p = await payOk(ctx, mailWith(printed ?? ''));
  t.equal(p.status, 'received');
  t.same(
    p.applications.map((a) => [a.invoiceId, a.amountCents]),
    [[invoice.id, 45012]],
    'applied to that invoice',
  );
  t.equal((await getInvoice(ctx, invoice.id)).status, 'paid');
});

t.test('a partial check with a good scan line pays part of its invoice', async (t) => {
  const invoice = await binder();
  const p = await payOk(ctx, mailWith(invoice.paymentSlip.scanLine, 20000));
  t.same(
    p.applications.map((a) => a.invoiceId),
    [invoice.id],
  );
  t.equal((await getInvoice(ctx, invoice.id)).balanceCents, 25012);
});

t.test('a scan line whose check digit fails never matches: the money is kept unapplied', async (t) => {
  const invoice = await binder();
  const good = invoice.paymentSlip.scanLine;
  const bad = good.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
  const p = await payOk(ctx, mailWith(bad));
  t.equal(p.status, 'unapplied');
  t.equal(p.unappliedCents, 45012);
  t.same(p.applications, []);
  t.equal(p.memberId, null, 'an unreadable line names no member');
  t.equal((await getInvoice(ctx, invoice.id)).amountPaidCents, 0, 'the invoice is untouched');
  t.ok(
    (await unappliedQueue(ctx)).some((u) => u.id === p.id),
    'in the ops unapplied queue',
  );
});

t.test("a scan line whose amount is not the invoice's amount due never matches", async (t) => {
  const invoice = await binder();
  for (const cents of [45000, 45013]) {
    const p = await payOk(ctx, mailWith(scan(invoice.invoiceNumber, cents), cents));
    t.equal(p.status, 'unapplied', `${cents} cents on the line: unapplied`);
    t.equal(p.memberId, invoice.memberId, 'kept with the member for ops');
  }
  t.equal((await getInvoice(ctx, invoice.id)).amountPaidCents, 0, 'the invoice is untouched');
});

t.test('a scan line of an unknown invoice is kept unapplied', async (t) => {
  const p = await payOk(ctx, mailWith(scan('1999999992', 45012)));
  t.equal(p.status, 'unapplied');
});

t.test('a scan line is digits and single spaces in its shape; only mail carries one', async (t) => {
  const invoice = await binder();
  const good = invoice.paymentSlip.scanLine;
  for (const bad of [good.replace(' ', '  '), good.replaceAll(' ', ''), `${good} `, good.replace('0', 'O')]) {
    expectProblem(t, await pay(ctx, mailWith(bad)), 400, 'validation_failed', JSON.stringify(bad));
  }
  expectProblem(
    t,
    await pay(ctx, { ...mailWith(good), slip: { scanLine: good, invoiceNumber: invoice.invoiceNumber } }),
    400,
    'validation_failed',
    'a slip is an invoice number or a scan line, not both',
  );
  const online = { channel: 'online', method: 'checking', amountCents: 100, slip: { scanLine: good } };
  const res = await pay(ctx, {
    ...online,
    bankAccount: { routingNumber: '011000015', accountNumber: '000123456789' },
  });
  expectProblem(t, res, 422, 'target_not_allowed', 'online with a slip');
  expectProblem(
    t,
    await pay(ctx, mailWith('4111 1111 1111 1111')),
    422,
    'card_number_not_allowed',
    'a card number in the scan line field',
  );
});
