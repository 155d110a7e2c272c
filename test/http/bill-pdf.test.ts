import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';
import { billingRunOk, cancelEnrollment, getInvoice, type InvoiceJson, listInvoices } from '../helpers/billing.js';
import { luhnDigit } from '../helpers/cards.js';
import { newAccount, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { bankAccount, payOk } from '../helpers/payments.js';
import { pdfFonts, pdfInfo, pdfRaster, pdfText, pdfWords, type Word } from '../helpers/pdf.js';
import { expectProblem, expectStatus } from '../helpers/responses.js';

// R32/R33: the member's bill as a PDF, read back with poppler (pdftotext, pdfinfo, pdffonts,
// pdftoppm) as a person, a printer and the lockbox's scanner would read it.
const ctx = await testApp(t);
await setClock(ctx, '2026-12-10T15:00:00Z');
const connector = await ctx.newKey('connector');
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const carrierKey = await ctx.newKey('carrier', carrier.id);

/** Page geometry in points from the top-left corner (docs/decisions.md, "The bill's layout"). */
const PAGE = { w: 612, h: 792 };
// A #10 window (4.5in x 1.125in, 7/8in from the left) over the tri-folded letter's top panel.
const WINDOW = { x: 63, y: 180, w: 324, h: 81 };
// The detachable coupon: the bottom third, below the tear line.
const TEAR_Y = 528;
const COUPON = { x: 36, y: TEAR_Y + 12, w: 540, h: PAGE.h - TEAR_Y - 24 };

const ADDRESS = { line1: '77 Harbor Street', line2: 'Apt 4B', city: 'Worcester', state: 'MA', postalCode: '01608' };

async function bill(id: string, key?: string) {
  return ctx.request({ method: 'GET', url: `/v1/invoices/${id}/bill.pdf`, ...(key ? { key } : {}) });
}

async function billOk(id: string): Promise<Buffer> {
  const res = await bill(id, connector.secret);
  expectStatus(res, 200);
  return res.rawPayload;
}

async function enrollment(overrides: Record<string, unknown> = {}) {
  const account = await newAccount(ctx, {
    firstName: 'Ana',
    lastName: 'Ferreira',
    mailingAddress: ADDRESS,
    ...overrides,
  });
  const e = await newEnrollment(ctx, {
    memberId: account.memberId,
    carrierId: carrier.id,
    coverageStart: '2027-01-01',
    planName: 'Harbor Silver 2000',
    monthlyPremiumCents: 45012,
  });
  return { account, e, binder: await getInvoice(ctx, e.binderInvoiceId) };
}

const dollars = (cents: number) =>
  `$${Math.floor(cents / 100).toLocaleString('en-US')}.${String(cents % 100).padStart(2, '0')}`;
const inside = (w: Word, r: { x: number; y: number; w: number; h: number }) =>
  w.xMin >= r.x && w.xMax <= r.x + r.w && w.yMin >= r.y && w.yMax <= r.y + r.h;
const oneSpace = (s: string) => s.replace(/\s+/g, ' ');

/** What every bill shows, whatever the invoice's state (R32). */
function checkCommon(t: Test, pdf: Buffer, invoice: InvoiceJson, label: string) {
  const text = pdfText(pdf);
  const flat = oneSpace(text);
  for (const [what, value] of [
    ['sender', 'Health Connector'],
    ['Member ID', invoice.memberId],
    ['invoice number', invoice.invoiceNumber],
    ['amount due', dollars(invoice.amountDueCents)],
    ['amount paid', dollars(invoice.amountPaidCents)],
    ['balance', dollars(invoice.balanceCents)],
    ['phone', '1-877-623-6765'],
    ['TTY', '1-877-623-7773'],
    ['payee', '"Health Connector"'],
    ['lockbox', 'P.O. BOX 412612'],
    ['lockbox city', 'Boston, MA 02241-2612'],
    ['carrier', 'Harbor Health Plan'],
    ['plan', 'Harbor Silver 2000'],
    ['subscriber', 'Ana Ferreira'],
    ['address', '77 Harbor Street'],
    ['address line 2', 'Apt 4B'],
    ['city line', 'Worcester, MA 01608'],
    ['amount enclosed box', 'Amount enclosed'],
    ['guest payment', 'guest payment'],
    ['checking or savings only', 'checking or savings account only'],
    ['money order', 'check or money order'],
  ] as const) {
    t.ok(flat.includes(value), `${label}: shows the ${what} (${value})`);
  }
  t.ok(text.includes(invoice.paymentSlip.scanLine), `${label}: the scan line, digits and single spaces as printed`);
  t.match(invoice.paymentSlip.scanLine, /^\d+( \d+)*$/, `${label}: R33 the scan line is digits and single spaces`);

  const info = pdfInfo(pdf);
  t.equal(info.Pages, '1', `${label}: one page`);
  t.match(info['Page size'], /^612 x 792 pts/, `${label}: US letter`);

  const fonts = pdfFonts(pdf);
  t.ok(fonts.length >= 2, `${label}: a text face and a monospace face`);
  t.ok(
    fonts.every((f) => f.embedded),
    `${label}: every font is embedded (${fonts.map((f) => f.name).join(', ')})`,
  );
  t.ok(
    fonts.some((f) => /Mono/.test(f.name)),
    `${label}: a monospace face for the scan line`,
  );

  const words = pdfWords(pdf);
  const addressWords = ['Ana', 'Ferreira', '77', 'Harbor', 'Street', 'Apt', '4B', 'Worcester,', 'MA', '01608'];
  const windowWords = words.filter((w) => inside(w, WINDOW)).map((w) => w.text);
  for (const w of addressWords) t.ok(windowWords.includes(w), `${label}: "${w}" shows through the envelope window`);
  const scanWords = invoice.paymentSlip.scanLine.split(' ');
  const scanBoxes = words.filter((w) => scanWords.includes(w.text) && inside(w, COUPON));
  t.ok(scanBoxes.length >= scanWords.length, `${label}: the scan line is on the coupon, below the tear line`);
  const couponTexts = words.filter((w) => inside(w, COUPON)).map((w) => w.text);
  for (const w of [invoice.invoiceNumber, invoice.memberId, 'BOX', '412612', 'enclosed']) {
    t.ok(couponTexts.includes(w), `${label}: the coupon shows ${w}`);
  }

  const raster = pdfRaster(pdf, 72); // 1 pixel per point
  t.equal(raster.width * raster.scale, PAGE.w, `${label}: rendered 8.5in wide`);
  t.equal(raster.height * raster.scale, PAGE.h, `${label}: rendered 11in tall`);
  t.ok(raster.darkPixels(WINDOW) > 250, `${label}: ink in the address window`);
  t.ok(raster.darkPixels(COUPON) > 2000, `${label}: ink on the coupon`);
  t.ok(raster.darkPixels({ x: 36, y: TEAR_Y - 3, w: 540, h: 6 }) > 150, `${label}: a tear line`);
  return { text, flat };
}

t.test('a binder bill: the enrollment warning, the amounts and the coupon (R32, R18, R33)', async (t) => {
  const { binder } = await enrollment();
  const pdf = await billOk(binder.id);
  const { flat } = checkCommon(t, pdf, binder, 'binder');
  t.ok(flat.includes('December 23, 2026'), 'the due date');
  t.ok(flat.includes('January 2027'), 'the coverage month');
  t.ok(
    flat.includes(
      'you will not be enrolled in your health or dental plan until you pay the first month’s premium in full by the due date',
    ),
    "the seed's binder warning",
  );
  t.ok(flat.includes('Your enrollment is not complete until you make your first payment'), 'its heading');
  t.notOk(/\bVOID\b/.test(flat), 'not void');
  t.equal(
    binder.paymentSlip.scanLine,
    `${binder.invoiceNumber} 00000045012 ${luhnDigit(`${binder.invoiceNumber}00000045012`)}`,
  );
});

t.test('a regular monthly bill has no binder warning', async (t) => {
  const { e, binder } = await enrollment();
  await payOk(ctx, {
    channel: 'online',
    method: 'checking',
    amountCents: 45012,
    invoiceNumber: binder.invoiceNumber,
    ...bankAccount(),
  });
  await billingRunOk(ctx, '2027-02-01');
  const feb = (await listInvoices(ctx, `enrollmentId=${e.id}`)).find((i) => i.coverageMonth === '2027-02-01');
  if (!feb) throw new Error('no February invoice');
  const { flat } = checkCommon(t, await billOk(feb.id), feb, 'monthly');
  t.ok(flat.includes('February 2027'), 'the coverage month');
  t.ok(flat.includes('January 23, 2027'), 'the due date');
  t.notOk(flat.includes('not complete until'), 'no binder warning');
  t.notOk(/\bVOID\b/.test(flat), 'not void');
});

t.test('a partially paid bill shows what was paid and the balance; a payment changes its bytes', async (t) => {
  const { binder } = await enrollment();
  const before = await billOk(binder.id);
  await payOk(ctx, {
    channel: 'online',
    method: 'checking',
    amountCents: 10000,
    invoiceNumber: binder.invoiceNumber,
    ...bankAccount(),
  });
  const partial = await getInvoice(ctx, binder.id);
  t.equal(partial.status, 'partially_paid');
  const pdf = await billOk(binder.id);
  const { flat } = checkCommon(t, pdf, partial, 'partial');
  t.ok(flat.includes('$100.00'), 'amount paid');
  t.ok(flat.includes('$350.12'), 'balance');
  t.notOk(before.equals(pdf), 'the payment changed the bill');
  t.ok(flat.includes('not complete until'), 'still a binder');
});

t.test('a void bill is stamped VOID', async (t) => {
  const { e } = await enrollment();
  expectStatus(await cancelEnrollment(ctx, e.id, {}, connector.secret), 200);
  const voided = await getInvoice(ctx, e.binderInvoiceId);
  t.equal(voided.status, 'void');
  const pdf = await billOk(voided.id);
  const { flat } = checkCommon(t, pdf, voided, 'void');
  t.ok(/\bVOID\b/.test(flat), 'VOID');
  const stamp = pdfWords(pdf).find((w) => w.text === 'VOID');
  t.ok(stamp && stamp.yMax - stamp.yMin > 40, 'a stamp across the page, not a footnote');
});

t.test('a paperless member gets the same bill, address included', async (t) => {
  const { binder } = await enrollment({ paperless: true });
  t.equal(binder.delivery, 'paperless');
  checkCommon(t, await billOk(binder.id), binder, 'paperless');
});

t.test('the same invoice state gives the same bytes', async (t) => {
  const { binder } = await enrollment();
  const first = await billOk(binder.id);
  const again = await bill(binder.id);
  expectStatus(again, 200);
  t.ok(first.equals(again.rawPayload), 'two reads (connector, ops): identical bytes');
  const other = await enrollment();
  await payOk(ctx, {
    channel: 'online',
    method: 'checking',
    amountCents: 45012,
    invoiceNumber: other.binder.invoiceNumber,
    ...bankAccount(),
  });
  await setClock(ctx, '2026-12-11T15:00:00Z');
  t.ok(first.equals(await billOk(binder.id)), 'identical after unrelated changes (another payment, a day later)');
  await setClock(ctx, '2026-12-10T15:00:00Z');
  t.match(pdfText(first), /Health Connector/, 'text, not outlines');
  t.notOk(first.includes('Helvetica'), 'no standard-14 font');
});

t.test('who may read a bill', async (t) => {
  const { binder } = await enrollment();
  for (const [who, key] of [
    ['connector', connector.secret],
    ['ops', ctx.opsKey],
  ] as const) {
    const res = await bill(binder.id, key);
    t.equal(res.statusCode, 200, `${who}: 200`);
    t.equal(res.headers['content-type'], 'application/pdf', `${who}: application/pdf`);
    t.equal(res.rawPayload.subarray(0, 5).toString('latin1'), '%PDF-', `${who}: a PDF`);
  }
  expectProblem(t, await bill(binder.id, carrierKey.secret), 403, 'forbidden', 'carrier key');
  expectProblem(
    t,
    await ctx.request({ method: 'GET', url: `/v1/invoices/${binder.id}/bill.pdf`, key: null }),
    401,
    'unauthorized',
    'no key',
  );
  expectProblem(t, await bill('inv_does_not_exist', connector.secret), 404, 'not_found', 'unknown id');
});

t.test('names in scripts the fonts cannot draw are printed readably, never dropped (review finding 4)', async (t) => {
  const cases = [
    // Mathematical and full-width letters: NFKC gives the letters they stand for.
    { firstName: '𝔄𝔫𝔫𝔞', lastName: 'Ｃｏｓｔａ', expect: ['Anna', 'Costa'] },
    // Han characters: no embedded face has them; they are romanized, never left blank.
    { firstName: '太郎', lastName: '山田', expect: ['TaiLang', 'ShanTian'] },
    // Scripts DejaVu draws stay as written.
    { firstName: 'Ωμέγα', lastName: 'Иванова', expect: ['Ωμέγα', 'Иванова'] },
  ];
  for (const c of cases) {
    const { binder } = await enrollment({ firstName: c.firstName, lastName: c.lastName });
    const pdf = await billOk(binder.id);
    const flat = oneSpace(pdfText(pdf));
    for (const word of c.expect) t.ok(flat.includes(word), `${c.lastName}: "${word}" on the bill`);
    const inWindow = pdfWords(pdf)
      .filter((w) => inside(w, WINDOW))
      .map((w) => w.text);
    t.ok(inWindow.includes(c.expect[1] as string), `${c.lastName}: the name shows through the envelope window`);
    t.equal(pdfInfo(pdf).Pages, '1');
  }
});

t.test('every letter is extractable whatever bills came before (review of issue 14: the lost U)', async (t) => {
  const first = await enrollment({ firstName: 'Ursula', lastName: 'Underwood' });
  const before = await billOk(first.binder.id);
  // Letters first met through a decomposition (Ü, Ö, É) once lost their text in later bills.
  const other = await enrollment({ firstName: 'Zoë', lastName: 'Ünal-Östberg Éire' });
  t.ok(oneSpace(pdfText(await billOk(other.binder.id))).includes('Ünal-Östberg'));
  const after = await billOk(first.binder.id);
  t.ok(Buffer.compare(before, after) === 0, 'the same bytes before and after another bill');
  const flat = oneSpace(pdfText(after));
  for (const word of ['Ursula', 'Underwood', 'Ursula Underwood']) t.ok(flat.includes(word), `"${word}" extracts`);
  const upper = await enrollment({
    firstName: 'Ulla',
    lastName: 'Uusitalo',
    mailingAddress: { ...ADDRESS, line1: 'UNIT 5 UPPER ST' },
  });
  t.ok(oneSpace(pdfText(await billOk(upper.binder.id))).includes('UNIT 5 UPPER ST'));
});
