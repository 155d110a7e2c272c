import t from 'tap';
import { parseScanLine } from '../../src/domain/numbers.js';
import { testApp } from '../helpers/app.js';
import {
  allPages,
  type BillingRunJson,
  billingRun,
  cancelEnrollment,
  enrollmentRow,
  eventsOf,
  getEnrollment,
  getInvoice,
  type InvoiceJson,
  listInvoices,
  setBinderPaid,
  setCredit,
  setEnrollmentStatus,
} from '../helpers/billing.js';
import { isLuhnValid, luhnDigit } from '../helpers/cards.js';
import {
  type EnrollmentJson,
  markPaidInFull,
  newAccount,
  newCarrier,
  newEnrollment,
  newMemberId,
  setClock,
} from '../helpers/factories.js';
import { expectStatus, PROBLEM } from '../helpers/responses.js';

// R15-R18 (invoices, slips, delivery, billing runs) through the HTTP API. One database for the file;
// every test sets the service clock itself and checks the invoices of enrollments it creates.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const otherCarrier = await newCarrier(ctx, { name: 'Bay State Dental' });
const carrierKey = await ctx.newKey('carrier', carrier.id);

const INVOICE_KEYS = [
  'amountDueCents',
  'amountPaidCents',
  'balanceCents',
  'binder',
  'carrierId',
  'coverageMonth',
  'creditAppliedCents',
  'delivery',
  'dueDate',
  'enrollmentId',
  'id',
  'invoiceNumber',
  'issuedAt',
  'memberId',
  'paymentSlip',
  'status',
  'voidedAt',
];

const LOCKBOX = {
  name: 'Health Connector',
  line1: 'P.O. BOX 412612',
  city: 'Boston',
  state: 'MA',
  postalCode: '02241-2612',
};

/** An enrollment whose binder is paid in full (R11 state), optionally confirmed by the carrier. */
async function billableEnrollment(
  overrides: Record<string, unknown> = {},
  confirmed = false,
  paidAt = '2026-12-15T15:00:00Z',
): Promise<EnrollmentJson> {
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01', ...overrides });
  await markPaidInFull(ctx, e.id, paidAt, '2026-12-22');
  if (confirmed) await setEnrollmentStatus(ctx, e.id, 'confirmed');
  return e;
}

async function invoicesFor(enrollmentId: string, coverageMonth: string): Promise<InvoiceJson[]> {
  return (await listInvoices(ctx, `enrollmentId=${enrollmentId}`)).filter((i) => i.coverageMonth === coverageMonth);
}

async function countInvoicesOfMonth(coverageMonth: string): Promise<number> {
  const row = await ctx.database.db
    .selectFrom('invoices')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('coverage_month', '=', coverageMonth)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function run(coverageMonth: string): Promise<BillingRunJson> {
  const res = await billingRun(ctx, coverageMonth);
  expectStatus(res, 201);
  return res.json() as BillingRunJson;
}

// R15

t.test('an invoice has its number, amounts, balance, due date and status open (R15)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, monthlyPremiumCents: 45000 });
  const res = await ctx.request({ method: 'GET', url: `/v1/invoices/${e.binderInvoiceId}`, key: connector.secret });
  t.equal(res.statusCode, 200);
  const invoice = res.json() as InvoiceJson;
  for (const key of INVOICE_KEYS) t.ok(key in invoice, `has ${key}`);
  t.match(invoice, {
    id: e.binderInvoiceId,
    enrollmentId: e.id,
    memberId: e.memberId,
    carrierId: carrier.id,
    coverageMonth: '2027-01-01',
    dueDate: '2026-12-23',
    amountDueCents: 45000,
    amountPaidCents: 0,
    balanceCents: 45000,
    creditAppliedCents: 0,
    status: 'open',
    binder: true,
    issuedAt: '2026-12-10T15:00:00.000Z',
    voidedAt: null,
  });
});

t.test('status and balance follow the amount paid: open, partially_paid, paid (R15)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, monthlyPremiumCents: 45000 });
  const cases: [number, string, number][] = [
    [0, 'open', 45000],
    [1, 'partially_paid', 44999],
    [30000, 'partially_paid', 15000],
    [44999, 'partially_paid', 1],
    [45000, 'paid', 0],
  ];
  for (const [paid, status, balance] of cases) {
    await setBinderPaid(ctx, e.id, paid);
    const invoice = await getInvoice(ctx, e.binderInvoiceId);
    t.equal(invoice.amountPaidCents, paid);
    t.equal(invoice.status, status, `${paid} paid -> ${status}`);
    t.equal(invoice.balanceCents, balance, `${paid} paid -> balance ${balance}`);
  }
});

t.test('invoice numbers are 10 digits with a valid Luhn check digit, and unique', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const numbers: string[] = [];
  for (let i = 0; i < 6; i++) {
    const e = await newEnrollment(ctx, { carrierId: carrier.id });
    const invoice = await getInvoice(ctx, e.binderInvoiceId);
    t.match(invoice.invoiceNumber, /^\d{10}$/);
    t.ok(isLuhnValid(invoice.invoiceNumber), `${invoice.invoiceNumber} has a valid check digit`);
    t.equal(invoice.paymentSlip.invoiceNumber, invoice.invoiceNumber);
    numbers.push(invoice.invoiceNumber);
  }
  t.equal(new Set(numbers).size, numbers.length, 'no two invoices share a number');
  const sample = numbers[0] ?? '';
  const typo = `${sample.slice(0, 4)}${(Number(sample[4]) + 1) % 10}${sample.slice(5)}`;
  t.notOk(isLuhnValid(typo), 'a one-digit typo is caught by the check digit');
});

// R18

t.test('the scan line encodes the invoice number and amount with a check digit (R18)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  for (const premium of [1, 3200, 45000, 123_456_789]) {
    const e = await newEnrollment(ctx, { carrierId: carrier.id, monthlyPremiumCents: premium });
    const invoice = await getInvoice(ctx, e.binderInvoiceId);
    const line = invoice.paymentSlip.scanLine;
    const parts = line.split(' ');
    t.equal(parts.length, 3, line);
    const [number, amount, check] = parts as [string, string, string];
    t.equal(number, invoice.invoiceNumber, 'the scan line starts with the invoice number');
    t.match(amount, /^\d{11}$/, 'the amount is 11 digits of cents');
    t.equal(Number(amount), premium, 'the scan line carries the amount due');
    t.equal(Number(check), luhnDigit(number + amount), 'the last digit checks number and amount');
    t.same(parseScanLine(line), { invoiceNumber: invoice.invoiceNumber, amountCents: premium });
    const misread = `${number} ${amount.slice(0, 10)}${(Number(amount[10]) + 1) % 10} ${check}`;
    t.equal(parseScanLine(misread), null, 'a misread amount fails the check digit');
  }
});

t.test('the payment slip names the payee, lockbox address, member, subscriber and carrier (R18)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx, { firstName: '  Ana   Maria ', lastName: 'Pereira' });
  const e = await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrier.id, monthlyPremiumCents: 45000 });
  const invoice = await getInvoice(ctx, e.binderInvoiceId);
  t.same(invoice.paymentSlip, {
    payableTo: 'Health Connector',
    mailTo: LOCKBOX,
    memberId: account.memberId,
    subscriberName: 'Ana Maria Pereira',
    carrierName: 'Harbor Health Plan',
    invoiceNumber: invoice.invoiceNumber,
    amountDueCents: 45000,
    scanLine: invoice.paymentSlip.scanLine,
  });

  const dental = await newEnrollment(ctx, {
    memberId: account.memberId,
    carrierId: otherCarrier.id,
    coverageType: 'dental',
    monthlyPremiumCents: 3200,
  });
  const dentalSlip = (await getInvoice(ctx, dental.binderInvoiceId)).paymentSlip;
  t.equal(dentalSlip.carrierName, 'Bay State Dental', 'each slip names its own carrier');
  t.equal(dentalSlip.amountDueCents, 3200);
});

// R17

t.test('a paperless account sees the invoice at once: delivery paperless, no expectedDelivery (R17)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, paperless: true });
  const invoice = await getInvoice(ctx, e.binderInvoiceId);
  t.equal(invoice.delivery, 'paperless');
  t.notOk('expectedDelivery' in invoice, 'no expected delivery for a paperless invoice');
});

t.test('a mailed invoice is expected 3 to 5 business days after the business date of issue (R17)', async (t) => {
  const cases: { issued: string; earliest: string; latest: string; why: string }[] = [
    { issued: '2026-12-10T10:00:00-05:00', earliest: '2026-12-15', latest: '2026-12-17', why: 'over a weekend' },
    {
      issued: '2026-11-24T10:00:00-05:00',
      earliest: '2026-11-30',
      latest: '2026-12-02',
      why: 'Thanksgiving (Thu 11-26) is a holiday, the Friday after is not',
    },
    {
      issued: '2026-11-25T10:00:00-05:00',
      earliest: '2026-12-01',
      latest: '2026-12-03',
      why: 'issued the day before Thanksgiving',
    },
    { issued: '2026-12-22T10:00:00-05:00', earliest: '2026-12-28', latest: '2026-12-30', why: 'Christmas (Fri)' },
    {
      issued: '2026-12-23T23:00:00-05:00',
      earliest: '2026-12-29',
      latest: '2026-12-31',
      why: 'issued late on the 23rd in Boston (already the 24th in UTC), over Christmas',
    },
    {
      issued: '2026-12-29T10:00:00-05:00',
      earliest: '2027-01-04',
      latest: '2027-01-06',
      why: "New Year's Day 2027 (Fri)",
    },
    {
      issued: '2026-12-12T10:00:00-05:00',
      earliest: '2026-12-16',
      latest: '2026-12-18',
      why: 'issued on a Saturday (R4)',
    },
    {
      issued: '2027-12-21T10:00:00-05:00',
      earliest: '2027-12-27',
      latest: '2027-12-29',
      why: 'Christmas 2027 is a Saturday, observed Friday 12-24',
    },
    {
      issued: '2026-06-30T10:00:00-04:00',
      earliest: '2026-07-06',
      latest: '2026-07-08',
      why: 'Independence Day 2026 is a Saturday, observed Friday 07-03',
    },
    { issued: '2026-11-09T10:00:00-05:00', earliest: '2026-11-13', latest: '2026-11-17', why: 'Veterans Day (Wed)' },
  ];
  for (const c of cases) {
    await setClock(ctx, c.issued);
    const e = await newEnrollment(ctx, { carrierId: carrier.id, paperless: false });
    const invoice = await getInvoice(ctx, e.binderInvoiceId);
    t.equal(invoice.delivery, 'mail', c.why);
    t.same(invoice.expectedDelivery, { earliest: c.earliest, latest: c.latest }, `${c.issued}: ${c.why}`);
  }
});

t.test('expectedDelivery is fixed at issue and does not drift as the clock moves (R17)', async (t) => {
  await setClock(ctx, '2026-11-24T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, paperless: false });
  const atIssue = await getInvoice(ctx, e.binderInvoiceId);
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const later = await getInvoice(ctx, e.binderInvoiceId);
  t.same(later.expectedDelivery, atIssue.expectedDelivery);
  t.same(later.expectedDelivery, { earliest: '2026-11-30', latest: '2026-12-02' });
});

// R16

t.test(
  'a billing run bills awaiting_confirmation and confirmed enrollments that cover the month, and no others (R16)',
  async (t) => {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const awaiting = await billableEnrollment({ monthlyPremiumCents: 45000 });
    const confirmed = await billableEnrollment({ monthlyPremiumCents: 38000 }, true);
    const pending = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
    const cancelled = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
    expectStatus(await cancelEnrollment(ctx, cancelled.id, {}, connector.secret), 200);
    const startsLater = await billableEnrollment({ coverageStart: '2027-04-01' });
    const paperless = await billableEnrollment({ paperless: true });

    // Tuesday 2027-01-12: mail arrives 3..5 business days later, skipping MLK Day (Mon 2027-01-18).
    await setClock(ctx, '2027-01-12T10:00:00-05:00');
    const before = await countInvoicesOfMonth('2027-02-01');
    const result = await run('2027-02-01');
    t.match(result, { coverageMonth: '2027-02-01', dueDate: '2027-01-23', startedAt: '2027-01-12T15:00:00.000Z' });
    t.type(result.id, 'string');
    t.equal(result.issuedCount, (await countInvoicesOfMonth('2027-02-01')) - before, 'issuedCount is what was issued');
    t.ok(result.issuedCount >= 3);

    for (const [e, premium] of [
      [awaiting, 45000],
      [confirmed, 38000],
    ] as const) {
      const feb = await invoicesFor(e.id, '2027-02-01');
      t.equal(feb.length, 1, `one February invoice for ${e.id}`);
      t.match(feb[0], {
        enrollmentId: e.id,
        memberId: e.memberId,
        carrierId: carrier.id,
        coverageMonth: '2027-02-01',
        dueDate: '2027-01-23',
        amountDueCents: premium,
        amountPaidCents: 0,
        balanceCents: premium,
        creditAppliedCents: 0,
        status: 'open',
        binder: false,
        delivery: 'mail',
        expectedDelivery: { earliest: '2027-01-15', latest: '2027-01-20' },
        issuedAt: '2027-01-12T15:00:00.000Z',
        voidedAt: null,
      });
      t.ok(isLuhnValid(feb[0]?.invoiceNumber ?? ''));
      t.same(parseScanLine(feb[0]?.paymentSlip.scanLine ?? ''), {
        invoiceNumber: feb[0]?.invoiceNumber,
        amountCents: premium,
      });
    }
    const paperlessFeb = await invoicesFor(paperless.id, '2027-02-01');
    t.equal(paperlessFeb.length, 1);
    t.equal(paperlessFeb[0]?.delivery, 'paperless');
    t.notOk(paperlessFeb[0] && 'expectedDelivery' in paperlessFeb[0]);

    // A pending or cancelled enrollment keeps only its binder (the pending binder now reads as February, R10).
    const only = async (e: EnrollmentJson) => (await listInvoices(ctx, `enrollmentId=${e.id}`)).map((i) => i.id);
    t.same(await only(pending), [pending.binderInvoiceId], 'a pending enrollment is not billed');
    t.same(await only(cancelled), [cancelled.binderInvoiceId], 'a cancelled enrollment is not billed');
    t.same(await only(startsLater), [startsLater.binderInvoiceId], 'an enrollment starting later is not billed');
  },
);

t.test("the binder invoice is its month's invoice: billing the first month issues nothing more (R16)", async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await billableEnrollment({ coverageStart: '2027-01-01' });
  await setClock(ctx, '2026-12-18T10:00:00-05:00');
  await run('2027-01-01');
  const jan = await invoicesFor(e.id, '2027-01-01');
  t.equal(jan.length, 1);
  t.equal(jan[0]?.id, e.binderInvoiceId);
  t.equal(jan[0]?.binder, true);
  t.equal((await listInvoices(ctx, `enrollmentId=${e.id}`)).length, 1);
});

t.test('running the same month again issues nothing new (R16)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await billableEnrollment();
  await setClock(ctx, '2027-02-10T10:00:00-05:00');
  const first = await run('2027-03-01');
  t.ok(first.issuedCount >= 1);
  const count = await countInvoicesOfMonth('2027-03-01');
  const again = await run('2027-03-01');
  t.equal(again.issuedCount, 0);
  t.equal(again.creditAppliedCents, 0);
  t.equal(await countInvoicesOfMonth('2027-03-01'), count);
  t.equal((await invoicesFor(e.id, '2027-03-01')).length, 1);
  t.equal((await eventsOf(ctx, e.id, 'invoice.issued')).filter((ev) => ev.invoice_id !== e.binderInvoiceId).length, 1);
});

t.test('two billing runs started at once issue exactly one invoice per enrollment in total (R16)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const enrollments: EnrollmentJson[] = [];
  for (let i = 0; i < 4; i++) enrollments.push(await billableEnrollment());
  await setCredit(ctx, enrollments[0]?.id ?? '', 5000);
  await setClock(ctx, '2027-04-10T10:00:00-04:00');
  const before = await countInvoicesOfMonth('2027-05-01');
  const [a, b] = await Promise.all([billingRun(ctx, '2027-05-01'), billingRun(ctx, '2027-05-01')]);
  t.equal(a.statusCode, 201, a.body);
  t.equal(b.statusCode, 201, b.body);
  const issued = (a.json() as BillingRunJson).issuedCount + (b.json() as BillingRunJson).issuedCount;
  t.equal(issued, (await countInvoicesOfMonth('2027-05-01')) - before, 'the two runs together issued each once');
  for (const e of enrollments) {
    const may = await invoicesFor(e.id, '2027-05-01');
    t.equal(may.length, 1, `exactly one May invoice for ${e.id}`);
    const events = (await eventsOf(ctx, e.id, 'invoice.issued')).filter((ev) => ev.invoice_id === may[0]?.id);
    t.equal(events.length, 1, 'and one invoice.issued event');
  }
  const first = enrollments[0];
  t.equal((await invoicesFor(first?.id ?? '', '2027-05-01'))[0]?.creditAppliedCents, 5000, 'credit applied once');
  t.equal((await getEnrollment(ctx, first?.id ?? '')).creditCents, 0, 'credit not spent twice');
});

t.test('enrollment credit is applied to a new invoice first and counts as paid (R16)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await billableEnrollment({ monthlyPremiumCents: 45000 });
  await setCredit(ctx, e.id, 10000);
  await setClock(ctx, '2027-05-10T10:00:00-04:00');
  const result = await run('2027-06-01');
  t.ok(result.creditAppliedCents >= 10000, 'the run reports the credit it applied');
  const [june] = await invoicesFor(e.id, '2027-06-01');
  t.match(june, {
    amountDueCents: 45000,
    amountPaidCents: 10000,
    creditAppliedCents: 10000,
    balanceCents: 35000,
    status: 'partially_paid',
  });
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 0, 'the credit is used up');
  t.equal(Number((await enrollmentRow(ctx, e.id)).credit_cents), 0);
});

t.test('credit larger than the premium pays the invoice and the rest stays credit (R16)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await billableEnrollment({ monthlyPremiumCents: 45000 }, true);
  await setCredit(ctx, e.id, 60000);
  await setClock(ctx, '2027-06-10T10:00:00-04:00');
  await run('2027-07-01');
  const [july] = await invoicesFor(e.id, '2027-07-01');
  t.match(july, {
    amountDueCents: 45000,
    amountPaidCents: 45000,
    creditAppliedCents: 45000,
    balanceCents: 0,
    status: 'paid',
  });
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 15000, 'the remaining 150.00 stays as credit');

  await setClock(ctx, '2027-07-10T10:00:00-04:00');
  await run('2027-08-01');
  const [august] = await invoicesFor(e.id, '2027-08-01');
  t.match(august, {
    amountPaidCents: 15000,
    creditAppliedCents: 15000,
    balanceCents: 30000,
    status: 'partially_paid',
  });
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 0);
});

t.test('each invoice a billing run issues writes one invoice.issued event (R16, R27)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await billableEnrollment();
  await setClock(ctx, '2027-08-10T10:00:00-04:00');
  await run('2027-09-01');
  const [sept] = await invoicesFor(e.id, '2027-09-01');
  const events = (await eventsOf(ctx, e.id, 'invoice.issued')).filter((ev) => ev.invoice_id === sept?.id);
  t.equal(events.length, 1);
  t.equal(events[0]?.enrollment_id, e.id);
  t.equal(events[0]?.carrier_id, carrier.id);
  t.equal(events[0]?.member_id, e.memberId);
  t.equal(new Date(events[0]?.occurred_at ?? 0).toISOString(), '2027-08-10T14:00:00.000Z');
  t.match(events[0]?.data, { invoiceId: sept?.id, enrollmentId: e.id, coverageMonth: '2027-09-01' });
});

t.test('billing runs: ops only, and the month must be the 1st (400)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const asConnector = await billingRun(ctx, '2027-10-01', connector.secret);
  t.equal(asConnector.statusCode, 403);
  t.equal(asConnector.json().code, 'forbidden');
  const asCarrier = await billingRun(ctx, '2027-10-01', carrierKey.secret);
  t.equal(asCarrier.statusCode, 403);
  for (const coverageMonth of ['2027-10-15', '2027-13-01', 'October', '']) {
    const res = await billingRun(ctx, coverageMonth);
    t.equal(res.statusCode, 400, coverageMonth);
    t.match(res.headers['content-type'], PROBLEM);
  }
  const extra = await ctx.request({
    method: 'POST',
    url: '/v1/billing-runs',
    payload: { coverageMonth: '2027-10-01', dryRun: true },
  });
  t.equal(extra.statusCode, 400);
  t.equal(await countInvoicesOfMonth('2027-10-01'), 0, 'none of these billed anything');
});

// Lists and access

t.test('the invoice list filters by memberId, enrollmentId and status', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const health = await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrier.id });
  const dental = await newEnrollment(ctx, {
    memberId: account.memberId,
    carrierId: otherCarrier.id,
    coverageType: 'dental',
    monthlyPremiumCents: 3200,
  });
  const cancelled = await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrier.id });
  await setBinderPaid(ctx, dental.id, 1000);
  expectStatus(await cancelEnrollment(ctx, cancelled.id, {}, connector.secret), 200);

  const ids = async (query: string) => (await listInvoices(ctx, query)).map((i) => i.id);
  const m = `memberId=${account.memberId}`;
  t.same(await ids(m), [health.binderInvoiceId, dental.binderInvoiceId, cancelled.binderInvoiceId], 'oldest first');
  t.same(await ids(`enrollmentId=${dental.id}`), [dental.binderInvoiceId]);
  t.same(await ids(`${m}&status=open`), [health.binderInvoiceId]);
  t.same(await ids(`${m}&status=partially_paid`), [dental.binderInvoiceId]);
  t.same(await ids(`${m}&status=void`), [cancelled.binderInvoiceId]);
  t.same(await ids(`${m}&status=paid`), []);
  t.same(await ids(`${m}&enrollmentId=${health.id}&status=open`), [health.binderInvoiceId]);
  t.same(await ids(`${m}&enrollmentId=${health.id}&status=void`), []);
  t.same(await ids(`memberId=${newMemberId()}`), [], 'an unknown member is an empty list');
  t.same(await ids('enrollmentId=enr_unknown'), []);
  for (const i of await listInvoices(ctx, 'status=void&limit=500')) t.equal(i.status, 'void');
});

t.test('the invoice list pages with limit and after; the last page has nextCursor null', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const binders: string[] = [];
  for (let i = 0; i < 3; i++) {
    binders.push((await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrier.id })).binderInvoiceId);
  }
  const pages = await allPages<InvoiceJson>(ctx, '/v1/invoices', `memberId=${account.memberId}`, 1);
  t.same(
    pages.map((p) => p.data.length),
    [1, 1, 1],
  );
  t.same(
    pages.flatMap((p) => p.data.map((i) => i.id)),
    binders,
  );
  t.type(pages[0]?.nextCursor, 'string');
  t.equal(pages.at(-1)?.nextCursor, null);
  const two = await allPages<InvoiceJson>(ctx, '/v1/invoices', `memberId=${account.memberId}`, 2);
  t.same(
    two.map((p) => p.data.length),
    [2, 1],
  );
  t.equal(two[1]?.nextCursor, null);
});

t.test('invoice list: limit outside 1..500, unknown parameters and a foreign cursor are 400', async (t) => {
  for (const q of ['limit=0', 'limit=501', 'limit=x', 'status=overdue', 'memberId=123', 'carrierId=x']) {
    const res = await ctx.request({ method: 'GET', url: `/v1/invoices?${q}` });
    t.equal(res.statusCode, 400, q);
    t.match(res.headers['content-type'], PROBLEM);
  }
  t.equal((await ctx.request({ method: 'GET', url: '/v1/invoices?limit=500' })).statusCode, 200);
  const badCursor = await ctx.request({ method: 'GET', url: '/v1/invoices?after=not-a-cursor' });
  t.equal(badCursor.statusCode, 400, 'a cursor the service did not issue is a 400, not a server error');
});

t.test('invoices: unknown id 404, carrier key 403, no key 401', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id });
  const unknown = await ctx.request({ method: 'GET', url: '/v1/invoices/inv_unknown' });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.headers['content-type'], PROBLEM);
  const carrierGet = await ctx.request({
    method: 'GET',
    url: `/v1/invoices/${e.binderInvoiceId}`,
    key: carrierKey.secret,
  });
  t.equal(carrierGet.statusCode, 403);
  const carrierList = await ctx.request({ method: 'GET', url: '/v1/invoices', key: carrierKey.secret });
  t.equal(carrierList.statusCode, 403);
  const anonymous = await ctx.request({ method: 'GET', url: `/v1/invoices/${e.binderInvoiceId}`, key: null });
  t.equal(anonymous.statusCode, 401);
});
