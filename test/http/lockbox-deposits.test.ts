import { randomBytes } from 'node:crypto';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf, getEnrollment, getInvoice, type InvoiceJson } from '../helpers/billing.js';
import { luhnDigit } from '../helpers/cards.js';
import {
  type EnrollmentJson,
  newAccount,
  newCarrier,
  newEnrollment,
  newMemberId,
  setClock,
} from '../helpers/factories.js';
import { getPayment, paymentCount, paymentsOf, payOk } from '../helpers/payments.js';
import { expectProblem, expectStatus } from '../helpers/responses.js';

// R34 (with R2, R18, R22-R25, R33, I3, I4): a lockbox deposit recorded at once, over HTTP. Expected
// outcomes are computed here from what each test set up (scan lines and check digits re-derived in
// the test), never by calling the service's code.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const carrierKey = await ctx.newKey('carrier', (await newCarrier(ctx)).id);
const harbor = await newCarrier(ctx, { name: 'Harbor Health Plan' });

const DEC_10 = '2026-12-10T10:00:00-05:00';
const TODAY = '2026-12-10';
const PREMIUM = 45000;

type Json = Record<string, unknown>;
interface ItemResult {
  sequence: number;
  method: string;
  amountCents: number;
  outcome: 'applied' | 'unapplied' | 'returned_to_sender';
  paymentId: string | null;
  matchedBy: 'scan_line' | 'remittance' | null;
  enrollmentId: string | null;
  appliedCents: number;
  creditedCents: number;
  notes: string[];
}
interface Total {
  count: number;
  totalCents: number;
}
interface Reconciliation {
  depositId: string;
  depositDate: string;
  recordedAt: string;
  control: { itemCount: number; totalCents: number };
  totals: { applied: Total; unapplied: Total; returnedToSender: Total };
  items: ItemResult[];
}

/** The scan line of an invoice, written out here: invoice number, 11-digit amount, Luhn check digit. */
function scanLineOf(invoiceNumber: string, amountCents: number): string {
  const amount = String(amountCents).padStart(11, '0');
  return `${invoiceNumber} ${amount} ${luhnDigit(invoiceNumber + amount)}`;
}
/** The same scan line with its check digit off by one. */
function badDigit(line: string): string {
  const d = Number(line.slice(-1));
  return `${line.slice(0, -1)}${(d + 1) % 10}`;
}

const newDepositId = () => `LBX-${randomBytes(6).toString('hex')}`;
function deposit(items: Json[], over: Json = {}): Json {
  const totalCents = items.reduce((s, i) => s + (i.amountCents as number), 0);
  return {
    depositId: newDepositId(),
    depositDate: TODAY,
    items,
    control: { itemCount: items.length, totalCents },
    ...over,
  };
}
const checkItem = (sequence: number, amountCents: number, extra: Json = {}): Json => ({
  sequence,
  method: 'check',
  amountCents,
  checkNumber: String(1000 + sequence),
  payableTo: 'Health Connector',
  ...extra,
});
function post(body: unknown, key?: string) {
  return ctx.request({ method: 'POST', url: '/v1/ops/lockbox-deposits', payload: body as Json, key });
}
async function postOk(body: unknown, key?: string): Promise<Reconciliation> {
  const res = await post(body, key);
  expectStatus(res, 201);
  return res.json() as Reconciliation;
}
async function binderEnrollment(): Promise<{ e: EnrollmentJson; invoice: InvoiceJson }> {
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  return { e, invoice: await binderOf(ctx, e) };
}
const remittanceOf = (memberId: string) => ({
  memberId,
  firstName: 'Maria',
  lastName: 'Santos',
  carrierName: 'Harbor Health Plan',
});

t.test('R34: a deposit of 200 mixed items answers the hand-computed reconciliation', async (t) => {
  await setClock(ctx, DEC_10);
  const items: Json[] = [];
  const expected = new Map<number, Omit<ItemResult, 'paymentId' | 'method'> & { returned?: boolean }>();
  const unpaidInvoices: string[] = [];
  const paidInvoices: string[] = [];
  // Sequence numbers are handed out in a scrambled order; the body lists items in yet another order.
  const sequences = Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) + 1);
  let next = 0;
  const seq = () => sequences[next++] as number;
  const expect = (s: number, r: Omit<ItemResult, 'paymentId' | 'method' | 'sequence'>) =>
    expected.set(s, { sequence: s, ...r });

  // 60 with a valid slip: applied in full by scan line (some payees written differently, same name).
  const payees = ['Health Connector', 'HEALTH CONNECTOR', '  health   connector ', 'Ｈｅａｌｔｈ Ｃｏｎｎｅｃｔｏｒ'];
  for (let i = 0; i < 60; i++) {
    const { e, invoice } = await binderEnrollment();
    const s = seq();
    const scanLine = scanLineOf(invoice.invoiceNumber, invoice.amountDueCents);
    const method = i % 3 === 0 ? 'money_order' : 'check';
    items.push({
      sequence: s,
      method,
      amountCents: PREMIUM,
      ...(method === 'check' ? { checkNumber: String(500000 + i) } : { serialNumber: `MO-${7000 + i}` }),
      payableTo: payees[i % payees.length],
      scanLine,
    });
    expect(s, {
      amountCents: PREMIUM,
      outcome: 'applied',
      matchedBy: 'scan_line',
      enrollmentId: e.id,
      appliedCents: PREMIUM,
      creditedCents: 0,
      notes: [],
    });
    paidInvoices.push(invoice.id);
  }
  // 40 by remittance only.
  for (let i = 0; i < 40; i++) {
    const { e, invoice } = await binderEnrollment();
    const s = seq();
    items.push(checkItem(s, PREMIUM, { remittance: remittanceOf(e.memberId) }));
    expect(s, {
      amountCents: PREMIUM,
      outcome: 'applied',
      matchedBy: 'remittance',
      enrollmentId: e.id,
      appliedCents: PREMIUM,
      creditedCents: 0,
      notes: [],
    });
    paidInvoices.push(invoice.id);
  }
  // 20 whose remittance names an unknown member: unapplied.
  for (let i = 0; i < 20; i++) {
    const s = seq();
    items.push(checkItem(s, 12345 + i, { remittance: remittanceOf(newMemberId()) }));
    expect(s, {
      amountCents: 12345 + i,
      outcome: 'unapplied',
      matchedBy: null,
      enrollmentId: null,
      appliedCents: 0,
      creditedCents: 0,
      notes: ['remittance_not_matched'],
    });
  }
  // 20 with a bad check digit: 10 alone (unapplied), 10 with a remittance (applied by remittance).
  for (let i = 0; i < 20; i++) {
    const { e, invoice } = await binderEnrollment();
    const s = seq();
    const scanLine = badDigit(scanLineOf(invoice.invoiceNumber, invoice.amountDueCents));
    if (i < 10) {
      items.push(checkItem(s, PREMIUM, { scanLine }));
      expect(s, {
        amountCents: PREMIUM,
        outcome: 'unapplied',
        matchedBy: null,
        enrollmentId: null,
        appliedCents: 0,
        creditedCents: 0,
        notes: ['scan_line_check_digit', 'nothing_to_match'],
      });
      unpaidInvoices.push(invoice.id);
    } else {
      items.push(checkItem(s, PREMIUM, { scanLine, remittance: remittanceOf(e.memberId) }));
      expect(s, {
        amountCents: PREMIUM,
        outcome: 'applied',
        matchedBy: 'remittance',
        enrollmentId: e.id,
        appliedCents: PREMIUM,
        creditedCents: 0,
        notes: ['scan_line_check_digit'],
      });
      paidInvoices.push(invoice.id);
    }
  }
  // 20 not payable to Health Connector: returned to the sender, nothing recorded.
  const wrongPayees = ['Harbor Health Plan', 'Health Connecter', 'Massachusetts Health Connector', 'Cash'];
  for (let i = 0; i < 20; i++) {
    const { invoice } = await binderEnrollment();
    const s = seq();
    items.push(
      checkItem(s, PREMIUM, {
        payableTo: wrongPayees[i % wrongPayees.length],
        scanLine: scanLineOf(invoice.invoiceNumber, invoice.amountDueCents),
      }),
    );
    expect(s, {
      amountCents: PREMIUM,
      outcome: 'returned_to_sender',
      matchedBy: null,
      enrollmentId: null,
      appliedCents: 0,
      creditedCents: 0,
      notes: ['payee_mismatch'],
    });
    unpaidInvoices.push(invoice.id);
  }
  // 20 overpayments by slip: the invoice is paid, the rest is credit on the enrollment (R24).
  const overpaid: { enrollmentId: string; credit: number }[] = [];
  for (let i = 0; i < 20; i++) {
    const { e, invoice } = await binderEnrollment();
    const s = seq();
    const amount = PREMIUM + 100 * (i + 1);
    items.push(checkItem(s, amount, { scanLine: scanLineOf(invoice.invoiceNumber, invoice.amountDueCents) }));
    expect(s, {
      amountCents: amount,
      outcome: 'applied',
      matchedBy: 'scan_line',
      enrollmentId: e.id,
      appliedCents: PREMIUM,
      creditedCents: amount - PREMIUM,
      notes: [],
    });
    overpaid.push({ enrollmentId: e.id, credit: amount - PREMIUM });
    paidInvoices.push(invoice.id);
  }
  // 10 invoices with two items each: the lower sequence pays 30000, the higher sees it and pays the
  // 15000 left, its other 5000 becoming credit.
  for (let i = 0; i < 10; i++) {
    const { e, invoice } = await binderEnrollment();
    const [a, b] = [seq(), seq()].sort((x, y) => x - y) as [number, number];
    const scanLine = scanLineOf(invoice.invoiceNumber, invoice.amountDueCents);
    items.push(checkItem(b, 20000, { scanLine }), checkItem(a, 30000, { scanLine }));
    const common = {
      outcome: 'applied' as const,
      matchedBy: 'scan_line' as const,
      enrollmentId: e.id,
      notes: [] as string[],
    };
    expect(a, { ...common, amountCents: 30000, appliedCents: 30000, creditedCents: 0 });
    expect(b, { ...common, amountCents: 20000, appliedCents: 15000, creditedCents: 5000 });
    overpaid.push({ enrollmentId: e.id, credit: 5000 });
    paidInvoices.push(invoice.id);
  }
  t.equal(items.length, 200);
  t.equal(new Set(items.map((i) => i.sequence)).size, 200, 'every sequence once');
  items.reverse();

  const body = deposit(items);
  const r = await postOk(body, connector.secret);

  const sum = (outcome: string) => {
    const of = [...expected.values()].filter((e) => e.outcome === outcome);
    return { count: of.length, totalCents: of.reduce((s, e) => s + e.amountCents, 0) };
  };
  t.strictSame(r.totals, {
    applied: sum('applied'),
    unapplied: sum('unapplied'),
    returnedToSender: sum('returned_to_sender'),
  });
  t.strictSame(r.totals.applied, { count: 150, totalCents: r.totals.applied.totalCents }, '150 applied');
  t.equal(r.totals.unapplied.count, 30);
  t.equal(r.totals.returnedToSender.count, 20);
  t.equal(
    r.totals.applied.totalCents + r.totals.unapplied.totalCents + r.totals.returnedToSender.totalCents,
    (body.control as { totalCents: number }).totalCents,
    'the totals add up to the control total',
  );
  t.strictSame(r.control, body.control);
  t.equal(r.depositId, body.depositId);
  t.equal(r.depositDate, TODAY);
  t.strictSame(
    r.items.map((i) => i.sequence),
    [...expected.keys()].sort((a, b) => a - b),
    'items in sequence order',
  );
  for (const item of r.items) {
    const { paymentId, method: _m, ...rest } = item;
    t.strictSame(rest, expected.get(item.sequence), `item ${item.sequence}`);
    if (item.outcome === 'returned_to_sender') t.equal(paymentId, null, 'nothing recorded for a returned item');
    else t.match(paymentId, /^pay_/);
  }
  t.equal(new Set(r.items.map((i) => i.paymentId).filter(Boolean)).size, 180, 'one payment per recorded item');

  // The payments and invoices agree with the answer (I4).
  const sample = r.items.filter((_, i) => i % 9 === 0);
  for (const item of sample) {
    if (!item.paymentId) continue;
    const p = await getPayment(ctx, item.paymentId);
    t.equal(p.channel, 'mail');
    t.equal(p.amountCents, item.amountCents);
    t.equal(p.status, item.outcome === 'applied' ? 'received' : 'unapplied');
    t.equal(p.receivedAt.slice(0, 10) <= TODAY, true);
    t.equal(
      p.applications.reduce((s, a) => s + a.amountCents, 0) + p.creditedCents + p.unappliedCents,
      p.amountCents,
      'I4: the payment adds up',
    );
  }
  for (const id of paidInvoices.slice(0, 30)) {
    const inv = await getInvoice(ctx, id);
    t.equal(inv.balanceCents, 0, `invoice ${inv.invoiceNumber} paid`);
  }
  for (const id of unpaidInvoices) {
    const inv = await getInvoice(ctx, id);
    t.equal(inv.amountPaidCents, 0, `invoice ${inv.invoiceNumber} untouched`);
  }
  for (const { enrollmentId, credit } of overpaid.slice(0, 10)) {
    const e = await getEnrollment(ctx, enrollmentId);
    t.equal(e.creditCents, credit, 'overpayment is credit');
    t.equal(e.status, 'awaiting_confirmation', 'binder paid in full (R11)');
  }

  const got = await ctx.request({ method: 'GET', url: `/v1/ops/lockbox-deposits/${body.depositId}` });
  expectStatus(got, 200);
  t.strictSame(got.json(), r, 'GET by depositId answers the POST answer');
});

t.test('R34: control totals that disagree record nothing (count, and total)', async (t) => {
  await setClock(ctx, DEC_10);
  const { e, invoice } = await binderEnrollment();
  const items = [
    checkItem(1, 20000, { scanLine: scanLineOf(invoice.invoiceNumber, PREMIUM) }),
    checkItem(2, 5000, { remittance: remittanceOf(e.memberId) }),
  ];
  const before = await paymentCount(ctx);
  for (const control of [
    { itemCount: 3, totalCents: 25000 },
    { itemCount: 2, totalCents: 25001 },
    { itemCount: 1, totalCents: 20000 },
  ]) {
    const body = deposit(items, { control });
    const res = await post(body);
    expectProblem(t, res, 422, 'control_total_mismatch');
    t.strictSame(res.json().items, { itemCount: 2, totalCents: 25000 }, 'the problem says what the items add up to');
    const got = await ctx.request({ method: 'GET', url: `/v1/ops/lockbox-deposits/${body.depositId}` });
    expectProblem(t, got, 404, 'not_found');
  }
  t.equal(await paymentCount(ctx), before, 'no payment recorded');
  t.strictSame(await paymentsOf(ctx, e.memberId), []);
  const inv = await getInvoice(ctx, invoice.id);
  t.equal(inv.amountPaidCents, 0, 'invoice unchanged');
  t.equal(inv.status, 'open');
});

t.test('R34: the same deposit again replays the first answer and records nothing new', async (t) => {
  await setClock(ctx, DEC_10);
  const { e, invoice } = await binderEnrollment();
  const body = deposit([
    checkItem(1, 30000, { scanLine: scanLineOf(invoice.invoiceNumber, PREMIUM) }),
    checkItem(2, 20000, { scanLine: scanLineOf(invoice.invoiceNumber, PREMIUM) }),
  ]);
  const first = await post(body);
  expectStatus(first, 201);
  const count = await paymentCount(ctx);
  // The same JSON value with another member order is the same deposit.
  const reordered = {
    control: body.control,
    items: body.items,
    depositDate: body.depositDate,
    depositId: body.depositId,
  };
  await setClock(ctx, '2026-12-10T11:00:00-05:00');
  const again = await post(reordered, connector.secret);
  expectStatus(again, 201);
  t.equal(again.headers['idempotent-replayed'], 'true');
  t.equal(again.body, first.body, 'identical JSON');
  t.equal(await paymentCount(ctx), count, 'nothing new recorded');
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 5000, 'credit counted once');

  const changed = { ...body, items: [checkItem(1, 30000), checkItem(2, 20000)] };
  expectProblem(t, await post(changed), 422, 'idempotency_key_reused');
  expectProblem(
    t,
    await post({ ...body, depositDate: '2026-12-09' }),
    422,
    'idempotency_key_reused',
    'another deposit date',
  );
  t.equal(await paymentCount(ctx), count, 'still nothing new');
});

t.test('R34: the same deposit sent twice at once is recorded once', async (t) => {
  await setClock(ctx, DEC_10);
  const { e, invoice } = await binderEnrollment();
  const body = deposit([
    checkItem(1, PREMIUM, { scanLine: scanLineOf(invoice.invoiceNumber, PREMIUM) }),
    checkItem(2, 700, { remittance: remittanceOf(e.memberId) }),
  ]);
  const answers = await Promise.all([post(body), post(body), post(body)]);
  const created = answers.filter((a) => a.statusCode === 201 && a.headers['idempotent-replayed'] !== 'true');
  t.equal(created.length, 1, 'exactly one records');
  for (const a of answers) {
    if (a.statusCode === 201) t.equal(a.body, created[0]?.body, 'a replay answers the same');
    else expectProblem(t, a, 409, 'idempotency_key_in_flight');
  }
  const payments = await paymentsOf(ctx, e.memberId);
  t.equal(payments.length, 2, 'two items, two payments');
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 700);
});

t.test(
  'R34 with I3/I4: two deposits racing for one invoice apply at most its balance and credit the rest',
  async (t) => {
    await setClock(ctx, DEC_10);
    const one = await binderEnrollment();
    const two = await binderEnrollment();
    const line = (inv: InvoiceJson) => scanLineOf(inv.invoiceNumber, PREMIUM);
    // Each deposit pays both invoices, in opposite orders: the locks must not deadlock.
    const x = deposit([
      checkItem(1, 30000, { scanLine: line(one.invoice) }),
      checkItem(2, 30000, { scanLine: line(two.invoice) }),
    ]);
    const y = deposit([
      checkItem(1, 30000, { scanLine: line(two.invoice) }),
      checkItem(2, 30000, { scanLine: line(one.invoice) }),
    ]);
    const single = payOk(ctx, {
      channel: 'mail',
      method: 'check',
      amountCents: 10000,
      slip: { invoiceNumber: one.invoice.invoiceNumber },
      check: { checkNumber: '77', payableTo: 'Health Connector' },
    });
    const [rx, ry] = await Promise.all([post(x), post(y), single]);
    expectStatus(rx as never, 201);
    expectStatus(ry as never, 201);
    for (const { e, invoice } of [one, two]) {
      const inv = await getInvoice(ctx, invoice.id);
      const paidIn = one.e.id === e.id ? 70000 : 60000;
      t.equal(inv.amountPaidCents, PREMIUM, 'paid exactly its amount due');
      t.equal(inv.balanceCents, 0);
      const en = await getEnrollment(ctx, e.id);
      t.equal(en.creditCents, paidIn - PREMIUM, 'the rest is credit (I3: no balance beside it)');
      const payments = await paymentsOf(ctx, e.memberId);
      const applied = payments.flatMap((p) => p.applications).reduce((s, a) => s + a.amountCents, 0);
      const credited = payments.reduce((s, p) => s + p.creditedCents, 0);
      t.equal(applied, PREMIUM, 'I4: applications are the invoice amount');
      t.equal(applied + credited, paidIn, 'I4: every cent is applied or credited');
    }
  },
);

t.test('R22/R34: a later item on the same invoice sees the earlier one; a short binder stays pending', async (t) => {
  await setClock(ctx, DEC_10);
  const { e, invoice } = await binderEnrollment();
  const r = await postOk(
    deposit([
      checkItem(5, 10000, { scanLine: scanLineOf(invoice.invoiceNumber, PREMIUM) }),
      checkItem(9, 10000, { remittance: remittanceOf(e.memberId) }),
    ]),
  );
  t.strictSame(
    r.items.map((i) => [i.sequence, i.outcome, i.matchedBy, i.appliedCents]),
    [
      [5, 'applied', 'scan_line', 10000],
      [9, 'applied', 'remittance', 10000],
    ],
  );
  const inv = await getInvoice(ctx, invoice.id);
  t.equal(inv.amountPaidCents, 20000);
  t.equal(inv.status, 'partially_paid');
  t.equal((await getEnrollment(ctx, e.id)).status, 'pending_payment', 'R9: partial payments are kept');
});

t.test('R33: a scan line whose amount differs from the amount due never matches', async (t) => {
  await setClock(ctx, DEC_10);
  const { e, invoice } = await binderEnrollment();
  const r = await postOk(
    deposit([
      checkItem(1, 40000, { scanLine: scanLineOf(invoice.invoiceNumber, 40000) }),
      checkItem(2, 100, { scanLine: scanLineOf('9999999999', PREMIUM) }),
      checkItem(3, 100, { scanLine: '123 456' }),
    ]),
  );
  t.strictSame(
    r.items.map((i) => [i.outcome, i.notes]),
    [
      ['unapplied', ['scan_line_amount_mismatch', 'nothing_to_match']],
      ['unapplied', ['scan_line_invoice_not_found', 'nothing_to_match']],
      ['unapplied', ['scan_line_unreadable', 'nothing_to_match']],
    ],
  );
  t.equal((await getInvoice(ctx, invoice.id)).amountPaidCents, 0);
  const queue = await ctx.request({ method: 'GET', url: '/v1/ops/unapplied-payments?limit=500' });
  const ids = new Set((queue.json().data as { id: string }[]).map((p) => p.id));
  t.ok(
    r.items.every((i) => i.paymentId && ids.has(i.paymentId)),
    'R23: unapplied items are in the ops queue',
  );
  t.ok(e.id);
});

t.test('R2/R34: items are received on the deposit date', async (t) => {
  // The binder of a January start is due 2026-12-23: a deposit dated the 23rd is on time, even
  // when it is recorded the next day.
  await setClock(ctx, DEC_10);
  const before = await binderEnrollment();
  await setClock(ctx, '2026-12-24T09:00:00-05:00');
  const r = await postOk(
    deposit([checkItem(1, PREMIUM, { scanLine: scanLineOf(before.invoice.invoiceNumber, PREMIUM) })], {
      depositDate: '2026-12-23',
    }),
  );
  t.equal(r.items[0]?.outcome, 'applied');
  const e = await getEnrollment(ctx, before.e.id);
  t.equal(e.status, 'awaiting_confirmation');
  t.equal(e.coverageStart, '2027-01-01', 'paid by the due date: coverage starts as chosen');
  t.equal(e.paidInFullAt?.slice(0, 10), '2026-12-24', 'the last instant of Dec 23 in New York is Dec 24 UTC');

  const old = await post(deposit([checkItem(1, 100)], { depositDate: '2026-12-01' }));
  expectProblem(t, old, 422, 'timestamp_out_of_range');
  t.equal(old.json().field, 'depositDate');
  const future = await post(deposit([checkItem(1, 100)], { depositDate: '2026-12-25' }));
  expectProblem(t, future, 422, 'timestamp_in_future');
});

t.test('R34: validation (400), duplicate sequences (422) and the card screen', async (t) => {
  await setClock(ctx, DEC_10);
  const before = await paymentCount(ctx);
  const ok = () => deposit([checkItem(1, 1000), checkItem(2, 2000)]);
  const bodies: [string, Json][] = [
    ['unknown top-level field', { ...ok(), note: 'x' }],
    ['unknown item field', deposit([{ ...checkItem(1, 1000), memo: 'x' }])],
    ['unknown control field', { ...ok(), control: { itemCount: 2, totalCents: 3000, extra: 1 } }],
    ['unknown remittance field', deposit([checkItem(1, 1000, { remittance: { memberId: '1', nickname: 'x' } })])],
    [
      'amountCents as string',
      deposit([{ ...checkItem(1, 1000), amountCents: '1000' }], { control: { itemCount: 1, totalCents: 1000 } }),
    ],
    [
      'amountCents as float',
      deposit([{ ...checkItem(1, 1000), amountCents: 10.5 }], { control: { itemCount: 1, totalCents: 1000 } }),
    ],
    [
      'amountCents as boolean',
      deposit([{ ...checkItem(1, 1000), amountCents: true }], { control: { itemCount: 1, totalCents: 1000 } }),
    ],
    [
      'amountCents zero',
      deposit([{ ...checkItem(1, 1000), amountCents: 0 }], { control: { itemCount: 1, totalCents: 1000 } }),
    ],
    ['empty items', deposit([], { control: { itemCount: 1, totalCents: 1 } })],
    ['method card', deposit([{ ...checkItem(1, 1000), method: 'credit_card' }])],
    ['method cash', deposit([{ ...checkItem(1, 1000), method: 'cash' }])],
    ['no payableTo', deposit([{ sequence: 1, method: 'check', amountCents: 1000, checkNumber: '1' }])],
    ['blank payableTo', deposit([checkItem(1, 1000, { payableTo: '   ' })])],
    ['bad deposit date', { ...ok(), depositDate: '2026-13-01' }],
    ['scan line with letters', deposit([checkItem(1, 1000, { scanLine: '1000000017 0000004500O 3' })])],
    ['no control', { depositId: newDepositId(), depositDate: TODAY, items: [checkItem(1, 1000)] }],
  ];
  for (const [what, body] of bodies) {
    const res = await post(body);
    expectProblem(t, res, 400, 'validation_failed', what);
  }
  expectProblem(
    t,
    await post(deposit([checkItem(1, 1000, { checkNumber: undefined })])),
    400,
    'payment_details_required',
  );
  expectProblem(
    t,
    await post(deposit([checkItem(1, 1000, { serialNumber: 'MO-1' })])),
    400,
    'payment_details_mismatch',
  );
  const dup = await post(deposit([checkItem(3, 1000), checkItem(3, 2000), checkItem(4, 1)]));
  expectProblem(t, dup, 422, 'duplicate_sequence');
  t.strictSame(dup.json().sequences, [3]);

  // Card screen: a card number in any text of an item is refused; fixed-format digits pass.
  const cardNumber = '4111 1111 1111 1111';
  for (const item of [
    checkItem(1, 1000, { payableTo: `Health Connector ${cardNumber}` }),
    checkItem(1, 1000, { remittance: { ...remittanceOf('100200300400'), lastName: `Santos ${cardNumber}` } }),
    checkItem(1, 1000, { checkNumber: '4111111111111111' }),
    checkItem(1, 1000, { scanLine: '4111111111111111' }),
  ]) {
    const res = await post(deposit([item]));
    expectProblem(t, res, 422, 'card_number_not_allowed');
    t.notMatch(res.body, /4111[ -]?1111[ -]?1111[ -]?1111/, 'never echoed');
  }
  t.equal(await paymentCount(ctx), before, 'nothing recorded by any refusal');
  const fifteen = await post(deposit([checkItem(1, 1000, { checkNumber: '378282246310005' })]));
  expectStatus(fifteen, 201);
});

t.test('R34: roles: connector and ops record, a carrier is 403; GET of an unknown deposit is 404', async (t) => {
  await setClock(ctx, DEC_10);
  expectProblem(t, await post(deposit([checkItem(1, 100)]), carrierKey.secret), 403, 'forbidden');
  expectStatus(await post(deposit([checkItem(1, 100)]), connector.secret), 201);
  expectStatus(await post(deposit([checkItem(1, 100)])), 201);
  const unknown = await ctx.request({ method: 'GET', url: '/v1/ops/lockbox-deposits/LBX-nope' });
  expectProblem(t, unknown, 404, 'not_found');
  const asCarrier = await ctx.request({
    method: 'GET',
    url: '/v1/ops/lockbox-deposits/LBX-nope',
    key: carrierKey.secret,
  });
  expectProblem(t, asCarrier, 403, 'forbidden');
});

t.test('R24/R34: an item before the enrollment was selected is kept unapplied, never lost', async (t) => {
  await setClock(ctx, DEC_10);
  const account = await newAccount(ctx);
  await setClock(ctx, '2026-12-11T10:00:00-05:00');
  const e = await newEnrollment(ctx, { memberId: account.memberId, carrierId: harbor.id, coverageStart: '2027-01-01' });
  const invoice = await binderOf(ctx, e);
  const r = await postOk(
    deposit([checkItem(1, PREMIUM, { scanLine: scanLineOf(invoice.invoiceNumber, PREMIUM) })], {
      depositDate: TODAY,
    }),
  );
  t.equal(r.items[0]?.outcome, 'unapplied');
  t.strictSame(r.items[0]?.notes, ['received_before_selection']);
  const p = await getPayment(ctx, r.items[0]?.paymentId as string);
  t.equal(p.memberId, e.memberId, 'kept with its member for ops');
  t.equal(p.unappliedCents, PREMIUM);
});
