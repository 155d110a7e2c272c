import t from 'tap';
import { testApp } from '../helpers/app.js';
import { getEnrollment, getInvoice } from '../helpers/billing.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { returnFile } from '../helpers/nacha.js';
import { bankAccount, getPayment, type PaymentJson, payOk, returnPayment } from '../helpers/payments.js';

// R36: a Nacha return file is applied as R25, return by return, matched by the original trace number.

const ctx = await testApp(t);
await setClock(ctx, '2026-12-04T15:00:00Z');
const carrier = await newCarrier(ctx);

/** A checkout whose binder ($450) is paid in full by an online checking debit. */
async function paidBinder(method: 'checking' | 'savings' = 'checking') {
  const e = await newEnrollment(ctx, { carrierId: carrier.id });
  const p = await payOk(ctx, { channel: 'online', method, amountCents: 45000, enrollmentId: e.id, ...bankAccount() });
  return { e, p };
}
const postReturns = (text: string, opts: { key?: string; contentType?: string; idempotencyKey?: string } = {}) =>
  ctx.request({
    method: 'POST',
    url: '/v1/ops/ach-returns',
    payload: text,
    headers: {
      'content-type': opts.contentType ?? 'text/plain',
      ...(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}),
    },
    ...(opts.key ? { key: opts.key } : {}),
  });

const a = await paidBinder();
const b = await paidBinder('savings');
const c = await paidBinder();
const d = await paidBinder();
const twin = await paidBinder(); // returned by the manual endpoint, to compare R25's effects
const fileRes = await ctx.request({ method: 'POST', url: '/v1/ops/ach-files', payload: {} });
if (fileRes.statusCode !== 201) throw new Error(`ACH file: ${fileRes.statusCode} ${fileRes.body}`);
// The file as the bank got it: the return file answers its entries (amounts, transaction codes).
const original = (await ctx.request({ method: 'GET', url: `/v1/ops/ach-files/${fileRes.json().id}` })).body;
const trace = async (p: PaymentJson) => String((await getPayment(ctx, p.id)).traceNumber);
const [ta, tb, tc, td] = [await trace(a.p), await trace(b.p), await trace(c.p), await trace(d.p)];

/** Everything a repeated file must leave alone. */
async function snapshot() {
  const db = ctx.database.db;
  return {
    payments: await db.selectFrom('payments').selectAll().orderBy('seq').execute(),
    applications: await db.selectFrom('payment_applications').selectAll().orderBy('id').execute(),
    invoices: await db.selectFrom('invoices').selectAll().orderBy('seq').execute(),
    enrollments: await db.selectFrom('enrollments').selectAll().orderBy('id').execute(),
    history: await db.selectFrom('enrollment_history').selectAll().orderBy('id').execute(),
    events: await db.selectFrom('events').selectAll().orderBy('id').execute(),
  };
}

const UNKNOWN = '011000019999999';
const file = returnFile(
  [
    { originalTrace: ta, code: 'R01' },
    { originalTrace: tb, code: 'R02' },
    { originalTrace: UNKNOWN, code: 'R03', amountCents: 45000 },
    { originalTrace: ta, code: 'R01' },
    { originalTrace: tc, code: 'R01' },
    { originalTrace: td, code: 'C01', corrected: '55556666777788' },
  ],
  { original },
);

t.test('R01, R02, an unknown trace, a duplicate, an already returned payment and a C01', async (t) => {
  const manual = await returnPayment(ctx, c.p.id, { reasonCode: 'R01' });
  t.equal(manual.statusCode, 201, 'c was returned by the manual endpoint first');
  t.equal((await returnPayment(ctx, twin.p.id, { reasonCode: 'R01' })).statusCode, 201);

  const res = await postReturns(file);
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.equal(body.repeat, false);
  t.same(
    body.returns.map((r: { traceNumber: string; reasonCode: string; paymentId: string | null; outcome: string }) => [
      r.traceNumber,
      r.reasonCode,
      r.paymentId,
      r.outcome,
    ]),
    [
      [ta, 'R01', a.p.id, 'returned'],
      [tb, 'R02', b.p.id, 'returned'],
      [UNKNOWN, 'R03', null, 'unknown_trace'],
      [ta, 'R01', a.p.id, 'duplicate_in_file'],
      [tc, 'R01', c.p.id, 'already_returned'],
    ],
  );
  t.same(body.notificationsOfChange, [
    { traceNumber: td, changeCode: 'C01', paymentId: d.p.id, corrected: { accountLast4: '7788' } },
  ]);
  t.notOk(res.body.includes('55556666777788'), 'the corrected account number is not echoed');
  t.same(body.warnings, [], 'a true file (amounts and codes of the original entries, true controls): no warning');

  for (const [p, code] of [
    [a.p, 'R01'],
    [b.p, 'R02'],
  ] as const) {
    const shown = await getPayment(ctx, p.id);
    t.equal(shown.status, 'returned');
    t.equal(shown.returnReasonCode, code, 'the payment shows the return reason code');
    t.ok(shown.traceNumber, 'and its trace number');
  }
  t.equal((await getPayment(ctx, d.p.id)).status, 'received', 'a notification of change returns nothing');

  // R25 exactly as the manual endpoint: a's enrollment ends where the twin's did.
  const [ae, te] = [await getEnrollment(ctx, a.e.id), await getEnrollment(ctx, twin.e.id)];
  t.equal(ae.status, 'pending_payment', 'an unpaid binder before confirmation goes back to pending_payment');
  t.same(
    [ae.status, ae.flags, ae.history.map((h) => [h.type, h.from, h.to, h.reason?.replace(a.p.id, '<payment>')])],
    [te.status, te.flags, te.history.map((h) => [h.type, h.from, h.to, h.reason?.replace(twin.p.id, '<payment>')])],
    'the same transitions, for the same reasons',
  );
  const [ai, ti] = [await getInvoice(ctx, a.e.binderInvoiceId), await getInvoice(ctx, twin.e.binderInvoiceId)];
  t.same([ai.status, ai.amountPaidCents, ai.balanceCents], [ti.status, ti.amountPaidCents, ti.balanceCents]);
  const returnedEvents = await ctx.database.db
    .selectFrom('events')
    .select('payment_id')
    .where('type', '=', 'payment.returned')
    .execute();
  t.same(
    returnedEvents
      .map((e) => e.payment_id)
      .filter((id) => id === a.p.id || id === b.p.id)
      .sort(),
    [a.p.id, b.p.id].sort(),
    'one payment.returned event each',
  );
});

t.test('the same file again changes nothing', async (t) => {
  const before = await snapshot();
  const res = await postReturns(file.replaceAll('\n', '\r\n'));
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.equal(body.repeat, true, 'the answer says it is a repeat');
  t.same(
    body.returns.map((r: { outcome: string }) => r.outcome),
    ['already_returned', 'already_returned', 'unknown_trace', 'duplicate_in_file', 'already_returned'],
  );
  t.same(await snapshot(), before, 'payments, applications, invoices, enrollments, history and events unchanged');
  const files = await ctx.database.db.selectFrom('ach_return_files').selectAll().execute();
  t.equal(files.length, 1, 'one return file recorded');
  t.equal(body.id, files[0]?.id);
});

t.test('malformed files, other media types and other roles are refused', async (t) => {
  const bad = await postReturns(file.replace('799R01', '799X01'));
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().code, 'invalid_nacha_file');
  t.equal(bad.json().line, 8);
  t.match(String(bad.headers['content-type']), /^application\/problem\+json/);
  const short = await postReturns('101 not a nacha file\n');
  t.equal(short.statusCode, 400);
  t.equal(short.json().code, 'invalid_nacha_file');
  const none = await ctx.request({ method: 'POST', url: '/v1/ops/ach-returns' });
  t.equal(none.statusCode, 400, 'no body');
  t.equal(none.json().code, 'invalid_nacha_file');
  const json = await ctx.request({ method: 'POST', url: '/v1/ops/ach-returns', payload: { file } });
  t.equal(json.statusCode, 415, 'JSON is not taken');
  t.match(String(json.headers['content-type']), /^application\/problem\+json/);
  const connector = await ctx.newKey('connector');
  t.equal((await postReturns(file, { key: connector.secret })).statusCode, 403);
  const card = await postReturns('4111 1111 1111 1111');
  t.equal(card.statusCode, 422, 'text that is not a Nacha file is screened for card numbers');
  t.equal(card.json().code, 'card_number_not_allowed');
});

t.test('an Idempotency-Key replays the first answer', async (t) => {
  const e = await paidBinder();
  await ctx.request({ method: 'POST', url: '/v1/ops/ach-files', payload: {} });
  const one = returnFile([{ originalTrace: await trace(e.p), code: 'R10', amountCents: 45000 }]);
  const first = await postReturns(one, { idempotencyKey: 'ach-return-1' });
  t.equal(first.statusCode, 200);
  t.equal(first.json().returns[0].outcome, 'returned');
  const again = await postReturns(one, { idempotencyKey: 'ach-return-1' });
  t.equal(again.headers['idempotent-replayed'], 'true');
  t.same(again.json(), first.json());
  const other = await postReturns(file, { idempotencyKey: 'ach-return-1' });
  t.equal(other.statusCode, 422);
  t.equal(other.json().code, 'idempotency_key_reused');
});
