import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import t, { type Test } from 'tap';
import { LOG_SERIALIZERS, REDACT_PATHS } from '../../src/app.js';
import { FieldCipher } from '../../src/store/crypto.js';
import { TEST_ENCRYPTION_KEY, testApp } from '../helpers/app.js';
import { cardDigits, digitsOnly, renderedCard, surrounding } from '../helpers/cards.js';
import { newAccount, newCarrier, newEnrollment, newMemberId, setClock } from '../helpers/factories.js';
import { returnFile } from '../helpers/nacha.js';
import type { PaymentJson } from '../helpers/payments.js';
import { pdfText } from '../helpers/pdf.js';
import {
  dumpDatabase,
  idemKey,
  memoryStream,
  occurrences,
  ROUTING_A,
  ROUTING_B,
  securityCodeIn,
} from '../helpers/safety.js';

// The canary test (R20 and the non-negotiables): canary numbers go through every payment path,
// successful and refused, and must then appear nowhere: not in any response, not in the log (captured
// at level trace with the app's own redaction), not in the database (a full pg_dump of it). Only the
// last 4 digits ('4321') may be shown, and the stored account number must be ciphertext that decrypts
// back to the canary with the data key.

const CANARY_ACCOUNT = '98765432104321';
const CANARY_LAST4 = '4321';
const CARD = '4111111111111111';
const CARD_FORMS = [CARD, '4111 1111 1111 1111', '4111-1111-1111-1111'];
const CVV = '737';

const log = memoryStream();
const logger = pino(
  { level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: LOG_SERIALIZERS },
  log.stream,
);
const ctx = await testApp(t, { logger });
await setClock(ctx, '2026-11-29T15:00:00Z'); // coverage 2027-01-01, binder due 2026-12-23

/** Every response this file receives, as status, headers and body text. */
const seen: string[] = [];
/** The same responses without the request line (whose URL may carry a card number the test sent). */
const answers: string[] = [];
async function send(opts: InjectOptions & { key?: string | null }): Promise<LightMyRequestResponse> {
  const res = await ctx.request(opts);
  seen.push(`${opts.method} ${opts.url} -> ${res.statusCode} ${JSON.stringify(res.headers)}\n${res.body}`);
  answers.push(`${res.statusCode} ${JSON.stringify(res.headers)}\n${res.body}`);
  return res;
}
function pay(body: Record<string, unknown>, idempotencyKey: string | null = idemKey('safe')) {
  return send({
    method: 'POST',
    url: '/v1/payments',
    payload: body,
    headers: idempotencyKey === null ? {} : { 'idempotency-key': idempotencyKey },
  });
}
/** Asserts a refusal by its status and code (no message, as each test asserted it). */
function refused(t: Test, res: LightMyRequestResponse, status: number, code: string): void {
  t.equal(res.statusCode, status);
  t.equal(res.json().code, code);
}
/** A mailed payment of $10.00 by this method, with its slip or remittance and its details. */
function mailOf(method: string, rest: Record<string, unknown>): Record<string, unknown> {
  return { channel: 'mail', method, amountCents: 1000, ...rest };
}
async function paymentCount(): Promise<number> {
  const r = await ctx.database.db
    .selectFrom('payments')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const account = await newAccount(ctx, { firstName: 'Ana', lastName: 'Lopes' });
const health = await newEnrollment(ctx, {
  memberId: account.memberId,
  carrierId: carrier.id,
  monthlyPremiumCents: 45000,
});
const dental = await newEnrollment(ctx, {
  memberId: account.memberId,
  carrierId: carrier.id,
  coverageType: 'dental',
  monthlyPremiumCents: 3000,
});
const cardAccount = await newAccount(ctx, { firstName: 'Rui', lastName: 'Costa' });
const cardEnrollment = await newEnrollment(ctx, { memberId: cardAccount.memberId, carrierId: carrier.id });
const binderNumber = async (enrollmentId: string) =>
  (
    await ctx.database.db
      .selectFrom('invoices')
      .select('invoice_number')
      .where('enrollment_id', '=', enrollmentId)
      .where('is_binder', '=', true)
      .executeTakeFirstOrThrow()
  ).invoice_number;
const healthBinder = await binderNumber(health.id);
const cardBinder = await binderNumber(cardEnrollment.id);

const canaryBank = { routingNumber: ROUTING_A, accountNumber: CANARY_ACCOUNT };
const goodCard = { token: 'tok_visa_4242', brand: 'visa', last4: '1111', expMonth: 12, expYear: 2030 };
const paymentIds: string[] = [];

t.test('a bank payment keeps the account number only encrypted and shows the last 4', async (t) => {
  const key = idemKey('bank');
  const body = {
    channel: 'online',
    method: 'checking',
    amountCents: 20000,
    invoiceNumber: healthBinder,
    bankAccount: canaryBank,
  };
  const res = await pay(body, key);
  t.equal(res.statusCode, 201, 'bank payment taken', { body: res.body });
  const p = res.json() as PaymentJson;
  paymentIds.push(p.id);
  t.same(p.bankAccount, { routingNumber: ROUTING_A, last4: CANARY_LAST4 }, 'response shows routing number and last 4');

  const got = await send({ method: 'GET', url: `/v1/payments/${p.id}` });
  t.equal(got.statusCode, 200);
  t.same(
    got.json().bankAccount,
    { routingNumber: ROUTING_A, last4: CANARY_LAST4 },
    'GET shows {routingNumber, last4} only',
  );
  t.notOk(/accountNumber/i.test(got.body), 'no accountNumber field in the payment');

  const row = await ctx.database.db.selectFrom('payments').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
  t.equal(row.bank_account_last4, CANARY_LAST4);
  t.ok(row.bank_account_ciphertext, 'ciphertext stored');
  const blob = row.bank_account_ciphertext as Buffer;
  t.notOk(blob.equals(Buffer.from(CANARY_ACCOUNT)), 'the stored value is not the plaintext');
  t.equal(blob.indexOf(Buffer.from(CANARY_ACCOUNT)), -1, 'the plaintext is not inside the stored bytes');
  const [keyId, keyB64] = TEST_ENCRYPTION_KEY.split(':') as [string, string];
  t.equal(row.bank_account_key_id, keyId, 'the data key id is stored beside the ciphertext');
  const cipher = new FieldCipher([{ id: keyId, key: Buffer.from(keyB64, 'base64') }]);
  t.equal(
    cipher.decrypt(row.bank_account_key_id as string, blob, { column: 'payments.bank_account', rowId: p.id }).plaintext,
    CANARY_ACCOUNT,
    'the ciphertext decrypts to the canary',
  );
  t.throws(
    () => cipher.decrypt(keyId, blob, { column: 'payments.other_column', rowId: p.id }),
    'bound to its column (AAD)',
  );
  t.throws(
    () => cipher.decrypt(keyId, blob, { column: 'payments.bank_account', rowId: 'pay_other' }),
    'and to its row',
  );

  // Replay and reuse of the key carry the canary too.
  const replay = await pay(body, key);
  t.equal(replay.statusCode, 201);
  t.equal(replay.headers['idempotent-replayed'], 'true');
  t.equal(replay.json().id, p.id);
  const reused = await pay({ ...body, amountCents: 20001 }, key);
  t.equal(reused.statusCode, 422);
  t.equal(reused.json().code, 'idempotency_key_reused');
});

t.test('phone payments with the canary account: ambiguous, by enrollment, by phone number', async (t) => {
  const ambiguous = await pay({
    channel: 'phone',
    method: 'savings',
    amountCents: 3000,
    memberId: account.memberId,
    bankAccount: { routingNumber: ROUTING_B, accountNumber: CANARY_ACCOUNT },
  });
  t.equal(ambiguous.statusCode, 422);
  t.equal(ambiguous.json().code, 'target_ambiguous');

  const dentalPaid = await pay({
    channel: 'phone',
    method: 'savings',
    amountCents: 3000,
    enrollmentId: dental.id,
    bankAccount: { routingNumber: ROUTING_B, accountNumber: CANARY_ACCOUNT },
  });
  t.equal(dentalPaid.statusCode, 201, 'dental paid by phone', { body: dentalPaid.body });
  t.same(dentalPaid.json().bankAccount, { routingNumber: ROUTING_B, last4: CANARY_LAST4 });
  paymentIds.push(dentalPaid.json().id);

  const byPhone = await pay({
    channel: 'phone',
    method: 'checking',
    amountCents: 25000,
    phoneNumber: account.phoneNumbers[0],
    bankAccount: canaryBank,
  });
  t.equal(byPhone.statusCode, 201, 'paid by phone number', { body: byPhone.body });
  t.equal(byPhone.json().enrollmentId, health.id, 'the only enrollment with a balance');
  paymentIds.push(byPhone.json().id);
});

t.test('returns of canary payments answer with the last 4 only', async (t) => {
  const [first, dentalPayment] = paymentIds as [string, string];
  const returnOf = (paymentId: string, reasonCode: string) =>
    send({
      method: 'POST',
      url: `/v1/payments/${paymentId}/returns`,
      payload: { reasonCode },
      headers: { 'idempotency-key': idemKey('ret') },
    });
  const returned = await returnOf(dentalPayment, 'R01');
  t.equal(returned.statusCode, 201, 'returned', { body: returned.body });
  t.equal(returned.json().status, 'returned');
  t.same(returned.json().bankAccount, { routingNumber: ROUTING_B, last4: CANARY_LAST4 });
  const again = await returnOf(dentalPayment, 'R01');
  t.equal(again.statusCode, 409);
  t.equal(again.json().code, 'already_returned');
  const wrongReason = await returnOf(first, 'CHECK_RETURNED');
  t.equal(wrongReason.statusCode, 422);
  t.equal(wrongReason.json().code, 'invalid_reason_code');
});

t.test('refused payments that carry the canary account number', async (t) => {
  const before = await paymentCount();
  const base = { amountCents: 1000, bankAccount: canaryBank };
  const onlineChecking = { channel: 'online', method: 'checking', amountCents: 1000, invoiceNumber: healthBinder };
  const cases: [string, Record<string, unknown>, number | number[], string | null, string | null][] = [
    [
      'mail does not take checking',
      { ...base, channel: 'mail', method: 'checking', slip: { invoiceNumber: healthBinder } },
      422,
      'method_not_accepted',
      null,
    ],
    [
      'online does not take paypal',
      { ...base, channel: 'online', method: 'paypal', invoiceNumber: healthBinder },
      422,
      'method_not_accepted',
      null,
    ],
    [
      'phone does not take credit cards',
      { ...base, channel: 'phone', method: 'credit_card', enrollmentId: health.id },
      422,
      'method_not_accepted',
      null,
    ],
    [
      'invalid routing number',
      { ...onlineChecking, bankAccount: { routingNumber: '011000016', accountNumber: CANARY_ACCOUNT } },
      422,
      'invalid_routing_number',
      null,
    ],
    [
      'routing number of 8 digits (schema)',
      { ...onlineChecking, bankAccount: { routingNumber: '01100001', accountNumber: CANARY_ACCOUNT } },
      400,
      'validation_failed',
      null,
    ],
    [
      'account number sent as a JSON number',
      { ...onlineChecking, bankAccount: { routingNumber: ROUTING_A, accountNumber: Number(CANARY_ACCOUNT) } },
      400,
      'validation_failed',
      null,
    ],
    [
      // Not an account number's format, and its 16 digits happen to pass Luhn: a card number by SPEC's
      // definition, so the card screen refuses it before the schema would.
      'account number with a suffix (not the format; a card number by its digits)',
      { ...onlineChecking, bankAccount: { routingNumber: ROUTING_A, accountNumber: `${CANARY_ACCOUNT}-01` } },
      422,
      'card_number_not_allowed',
      null,
    ],
    [
      'account number as an unknown top-level field',
      { ...base, channel: 'online', method: 'checking', invoiceNumber: healthBinder, accountNumber: CANARY_ACCOUNT },
      // The canary happens to be Luhn-valid, so outside bankAccount.accountNumber it may be refused as a card number.
      [400, 422],
      null,
      null,
    ],
    [
      'unknown field inside bankAccount',
      { ...onlineChecking, bankAccount: { ...canaryBank, holder: CANARY_ACCOUNT } },
      [400, 422],
      null,
      null,
    ],
    [
      'amount of 0 (schema)',
      { ...base, amountCents: 0, channel: 'online', method: 'checking', invoiceNumber: healthBinder },
      400,
      'validation_failed',
      null,
    ],
    [
      'a mailed check with the MICR bank details',
      {
        ...base,
        channel: 'mail',
        method: 'check',
        slip: { invoiceNumber: healthBinder },
        check: { checkNumber: '1042', payableTo: 'Health Connector' },
      },
      400,
      'payment_details_mismatch',
      null,
    ],
    [
      'unknown invoice',
      { ...base, channel: 'online', method: 'checking', invoiceNumber: '9999999999' },
      422,
      'target_not_found',
      null,
    ],
    ['no target', { ...base, channel: 'online', method: 'checking' }, 422, 'target_required', null],
    [
      'receivedAt in the future',
      {
        ...base,
        channel: 'online',
        method: 'checking',
        invoiceNumber: healthBinder,
        receivedAt: '2026-12-01T00:00:00Z',
      },
      422,
      'timestamp_in_future',
      null,
    ],
  ];
  for (const [name, body, status, code] of cases) {
    const res = await pay(body);
    const allowed = Array.isArray(status) ? status : [status];
    t.ok(allowed.includes(res.statusCode), `${name}: ${res.statusCode}`, { body: res.body });
    if (code) t.equal(res.json().code, code, name);
    t.match(res.headers['content-type'], /^application\/problem\+json/, name);
  }
  const missingKey = await pay({ ...base, channel: 'online', method: 'checking', invoiceNumber: healthBinder }, null);
  t.equal(missingKey.statusCode, 400);
  t.equal(missingKey.json().code, 'idempotency_key_required');
  const noAuth = await send({
    method: 'POST',
    url: '/v1/payments',
    key: null,
    payload: { ...base, channel: 'online', method: 'checking', invoiceNumber: healthBinder },
    headers: { 'idempotency-key': idemKey('noauth') },
  });
  t.equal(noAuth.statusCode, 401);
  t.equal(await paymentCount(), before, 'no refused request recorded a payment');
});

t.test('mail refusals: payee mismatch and incomplete remittance', async (t) => {
  const before = await paymentCount();
  const slip = { slip: { invoiceNumber: healthBinder } };
  refused(
    t,
    await pay(mailOf('check', { ...slip, check: { checkNumber: '2001', payableTo: 'Harbor Health Plan' } })),
    422,
    'payee_mismatch',
  );
  refused(
    t,
    await pay(mailOf('money_order', { ...slip, moneyOrder: { serialNumber: '77-1', payableTo: 'Cash' } })),
    422,
    'payee_mismatch',
  );
  const incomplete = mailOf('check', {
    remittance: { memberId: account.memberId },
    check: { checkNumber: '2002', payableTo: 'Health Connector' },
  });
  refused(t, await pay(incomplete), 422, 'remittance_incomplete');
  t.equal(await paymentCount(), before);
});

t.test('card payments: token, brand, last 4 and expiry only', async (t) => {
  const ok = await pay({
    channel: 'online',
    method: 'credit_card',
    amountCents: 45000,
    invoiceNumber: cardBinder,
    card: goodCard,
  });
  t.equal(ok.statusCode, 201, 'card payment taken', { body: ok.body });
  t.same(ok.json().card, { brand: 'visa', last4: '1111', expMonth: 12, expYear: 2030 }, 'no token in the response');
  t.notOk(ok.body.includes('tok_visa_4242'), 'the processor token is not echoed');
  paymentIds.push(ok.json().id);

  const expired = await pay({
    channel: 'online',
    method: 'debit_card',
    amountCents: 1000,
    enrollmentId: cardEnrollment.id,
    card: { ...goodCard, expMonth: 10, expYear: 2026 },
  });
  t.equal(expired.statusCode, 422);
  t.equal(expired.json().code, 'card_expired');
});

t.test('a full card number is refused wherever it is smuggled in', async (t) => {
  const before = await paymentCount();
  const online = { channel: 'online', method: 'credit_card', amountCents: 1000, invoiceNumber: cardBinder };
  const mail = {
    channel: 'mail',
    method: 'check',
    amountCents: 1000,
    check: { checkNumber: '3001', payableTo: 'Health Connector' },
  };
  const smuggled: [string, Record<string, unknown>][] = [
    ['as the token', { ...online, card: { ...goodCard, token: CARD } }],
    ['as the token with spaces', { ...online, card: { ...goodCard, token: '4111 1111 1111 1111' } }],
    ['as the token with dashes', { ...online, card: { ...goodCard, token: '4111-1111-1111-1111' } }],
    ['inside the token', { ...online, card: { ...goodCard, token: `tok_${CARD}_x` } }],
    ['as card.number', { ...online, card: { ...goodCard, number: CARD } }],
    ['as a top-level cardNumber', { ...online, card: goodCard, cardNumber: CARD }],
    ['as the invoice number', { ...online, invoiceNumber: CARD, card: goodCard }],
    [
      'on a phone payment as the phone number',
      {
        channel: 'phone',
        method: 'checking',
        amountCents: 1000,
        phoneNumber: CARD,
        bankAccount: { routingNumber: ROUTING_A, accountNumber: '12345678' },
      },
    ],
    [
      'as a check number',
      { ...mail, slip: { invoiceNumber: cardBinder }, check: { checkNumber: CARD, payableTo: 'Health Connector' } },
    ],
    [
      'in the remittance name',
      {
        ...mail,
        remittance: {
          memberId: cardAccount.memberId,
          firstName: `Rui ${CARD}`,
          lastName: 'Costa',
          carrierName: carrier.name,
        },
      },
    ],
    [
      'in a method the channel refuses',
      {
        channel: 'phone',
        method: 'credit_card',
        amountCents: 1000,
        enrollmentId: cardEnrollment.id,
        card: { ...goodCard, token: CARD },
      },
    ],
  ];
  for (const [name, raw] of smuggled) {
    const body = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>; // drops undefined members
    const res = await pay(body);
    t.equal(res.statusCode, 422, name, { body: res.body });
    t.equal(res.json().code, 'card_number_not_allowed', name);
  }
  // Enrollment ids are not scanned for card numbers (their random hex can hold a Luhn-valid run of digits),
  // so a card number typed as the enrollment id may be refused for another reason (no such enrollment);
  // it must still never be echoed, logged or stored (also checked by the response, log and dump tests).
  const asEnrollmentId = await pay({
    channel: 'online',
    method: 'debit_card',
    amountCents: 1000,
    enrollmentId: CARD,
    card: goodCard,
  });
  t.equal(asEnrollmentId.statusCode, 422, 'a card number as the enrollment id is refused', {
    body: asEnrollmentId.body,
  });
  t.notOk(asEnrollmentId.body.includes(CARD), 'the refusal does not echo the card number', {
    body: asEnrollmentId.body,
  });
  const storedAnswer = await ctx.database.db.selectFrom('idempotency_keys').select('response_body').execute();
  t.notOk(
    JSON.stringify(storedAnswer).includes(CARD),
    'no stored idempotent answer holds the card number (idempotency_keys.response_body is not encrypted)',
  );
  // Not a string, so not a card-number pattern: still refused (unknown field), never stored.
  const numeric = await pay({ ...online, card: goodCard, cardNumber: Number(CARD) });
  t.ok([400, 422].includes(numeric.statusCode), `a numeric card number is refused (${numeric.statusCode})`);
  t.equal(await paymentCount(), before, 'no smuggling attempt recorded a payment');
});

t.test('a security code is never accepted', async (t) => {
  const before = await paymentCount();
  const online = { channel: 'online', method: 'credit_card', amountCents: 1000, invoiceNumber: cardBinder };
  const attempts: [string, Record<string, unknown>][] = [
    ['card.cvv', { ...online, card: { ...goodCard, cvv: CVV } }],
    ['card.cvc', { ...online, card: { ...goodCard, cvc: CVV } }],
    ['card.securityCode', { ...online, card: { ...goodCard, securityCode: CVV } }],
    ['top-level cvv', { ...online, card: goodCard, cvv: CVV }],
    ['top-level security_code', { ...online, card: goodCard, security_code: CVV }],
    ['cvv with a card number', { ...online, card: { ...goodCard, token: CARD, cvv: CVV } }],
  ];
  for (const [name, body] of attempts) {
    const res = await pay(body);
    t.ok(res.statusCode === 400 || res.statusCode === 422, `${name}: refused with ${res.statusCode}`);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
  }
  t.equal(await paymentCount(), before, 'no payment with a security code was recorded');
});

/**
 * SPEC conventions, "Card data": every text value of every request (body at any depth, unknown
 * fields and keys included, query string, path parameters, the Idempotency-Key header) is screened.
 * Card numbers are generated (Luhn-valid, 13-19 digits, random separators, Unicode digit forms) and
 * put in fields of several endpoints; each request must be 422 `card_number_not_allowed`, naming the
 * field without echoing the number. Every generated number is then searched (digits only, after
 * NFKC and mapping every Unicode digit to its value) in the responses, the log and the pg_dump below.
 */
const generatedCards: string[] = [];
interface Placement {
  name: string;
  field: string;
  request: (value: string) => InjectOptions;
}
const checkPayment = { channel: 'mail', method: 'check', amountCents: 1000 };
const cardPayment = { channel: 'online', method: 'credit_card', amountCents: 1000, invoiceNumber: cardBinder };
const remittance = { memberId: account.memberId, firstName: 'Ana', lastName: 'Lopes', carrierName: carrier.name };
/** A mailed check to the Health Connector with this remittance. */
const remitted = (remit: Record<string, unknown>, checkNumber: string) => ({
  ...checkPayment,
  remittance: remit,
  check: { checkNumber, payableTo: 'Health Connector' },
});
const post = (url: string, payload: unknown, headers: Record<string, string> = {}): InjectOptions => ({
  method: 'POST',
  url,
  payload: payload as InjectOptions['payload'],
  headers: { 'idempotency-key': idemKey('screen'), ...headers },
});
const get = (url: string): InjectOptions => ({ method: 'GET', url });
const q = encodeURIComponent;
const PLACEMENTS: Placement[] = [
  {
    name: 'payments card.token',
    field: 'body.card.token',
    request: (v) => post('/v1/payments', { ...cardPayment, card: { ...goodCard, token: v } }),
  },
  {
    name: 'payments remittance.firstName',
    field: 'body.remittance.firstName',
    request: (v) => post('/v1/payments', remitted({ ...remittance, firstName: v }, '4001')),
  },
  {
    name: 'payments remittance.carrierName',
    field: 'body.remittance.carrierName',
    request: (v) => post('/v1/payments', remitted({ ...remittance, carrierName: v }, '4002')),
  },
  {
    name: 'payments remittance.mailingAddress.line1',
    field: 'body.remittance.mailingAddress.line1',
    request: (v) =>
      post(
        '/v1/payments',
        remitted(
          { ...remittance, mailingAddress: { line1: v, city: 'Boston', state: 'MA', postalCode: '02108' } },
          '4003',
        ),
      ),
  },
  {
    name: 'payments check.payableTo',
    field: 'body.check.payableTo',
    request: (v) =>
      post('/v1/payments', {
        ...checkPayment,
        slip: { invoiceNumber: healthBinder },
        check: { checkNumber: '4004', payableTo: v },
      }),
  },
  {
    name: 'payments check.checkNumber',
    field: 'body.check.checkNumber',
    request: (v) =>
      post('/v1/payments', {
        ...checkPayment,
        slip: { invoiceNumber: healthBinder },
        check: { checkNumber: `No. ${v}`, payableTo: 'Health Connector' },
      }),
  },
  {
    name: 'payments moneyOrder.serialNumber',
    field: 'body.moneyOrder.serialNumber',
    request: (v) =>
      post('/v1/payments', {
        ...checkPayment,
        method: 'money_order',
        slip: { invoiceNumber: healthBinder },
        moneyOrder: { serialNumber: `No. ${v}`, payableTo: 'Health Connector' },
      }),
  },
  {
    name: 'payments phoneNumber',
    field: 'body.phoneNumber',
    request: (v) =>
      post('/v1/payments', {
        channel: 'phone',
        method: 'checking',
        amountCents: 1000,
        phoneNumber: v,
        bankAccount: { routingNumber: ROUTING_A, accountNumber: '12345678' },
      }),
  },
  {
    name: 'payments unknown top-level field',
    field: 'body.memo',
    request: (v) => post('/v1/payments', { ...cardPayment, card: goodCard, memo: v }),
  },
  {
    name: 'payments unknown nested field in an array',
    field: 'body.card.extra[1].number',
    request: (v) => post('/v1/payments', { ...cardPayment, card: { ...goodCard, extra: [{}, { number: v }] } }),
  },
  {
    name: 'payments: the number as an object key',
    field: 'body.card',
    request: (v) => post('/v1/payments', { ...cardPayment, card: { ...goodCard, [v]: 'x' } }),
  },
  {
    name: 'cancellation reason',
    field: 'body.reason',
    request: (v) => post(`/v1/enrollments/${dental.id}/cancellation`, { reason: v }),
  },
  {
    name: 'enrollment planName',
    field: 'body.planName',
    request: (v) =>
      post('/v1/enrollments', {
        memberId: cardAccount.memberId,
        carrierId: carrier.id,
        coverageType: 'dental',
        planName: v,
        monthlyPremiumCents: 2000,
      }),
  },
  {
    name: 'confirmation carrierPolicyId',
    field: 'body.carrierPolicyId',
    request: (v) => post(`/v1/enrollments/${health.id}/confirmation`, { carrierPolicyId: v }),
  },
  {
    name: 'account firstName',
    field: 'body.firstName',
    request: (v) =>
      post('/v1/accounts', {
        memberId: newMemberId(),
        firstName: v,
        lastName: 'Lopes',
        mailingAddress: { line1: '1 Main St', city: 'Boston', state: 'MA', postalCode: '02108' },
        phoneNumbers: [],
      }),
  },
  {
    name: 'account phoneNumbers[0]',
    field: 'body.phoneNumbers[0]',
    request: (v) =>
      post('/v1/accounts', {
        memberId: newMemberId(),
        firstName: 'Ana',
        lastName: 'Lopes',
        mailingAddress: { line1: '1 Main St', city: 'Boston', state: 'MA', postalCode: '02108' },
        phoneNumbers: [v],
      }),
  },
  {
    name: 'carrier name',
    field: 'body.name',
    request: (v) => post('/v1/carriers', { id: `c-${Math.random().toString(36).slice(2, 10)}`, name: v }),
  },
  {
    name: 'api-key name',
    field: 'body.name',
    request: (v) => post('/v1/api-keys', { role: 'connector', name: v }),
  },
  {
    name: 'a text/plain body',
    field: 'body',
    request: (v) => ({ method: 'POST', url: '/v1/carriers', payload: v, headers: { 'content-type': 'text/plain' } }),
  },
  {
    name: 'query phoneNumber',
    field: 'query.phoneNumber',
    request: (v) => get(`/v1/accounts?phoneNumber=${q(v)}`),
  },
  {
    name: 'query carrierId',
    field: 'query.carrierId',
    request: (v) => get(`/v1/enrollments?carrierId=${q(v)}`),
  },
  {
    name: 'unknown query parameter',
    field: 'query.memo',
    request: (v) => get(`/v1/invoices?memberId=${account.memberId}&memo=${q(v)}`),
  },
  {
    name: 'path parameter of an enrollment',
    field: 'params.id',
    request: (v) => get(`/v1/enrollments/${q(v)}`),
  },
  {
    name: 'path parameter of a payment return',
    field: 'params.id',
    request: (v) => post(`/v1/payments/${q(v)}/returns`, { reasonCode: 'R01' }),
  },
];

/** The placements, plus the Idempotency-Key header (ASCII only, as HTTP headers are). */
function placementsFor(card: { digits: string; text: string }, asciiSeparator: string) {
  const headerValue = card.digits.replace(/(\d{4})(?=\d)/g, `$1${asciiSeparator}`);
  return [
    ...PLACEMENTS.map((p) => ({ name: p.name, field: p.field, opts: p.request(card.text) })),
    {
      name: 'Idempotency-Key header',
      field: 'headers.idempotency-key',
      opts: post(
        '/v1/payments',
        {
          ...checkPayment,
          slip: { invoiceNumber: healthBinder },
          check: { checkNumber: '4005', payableTo: 'Health Connector' },
        },
        { 'idempotency-key': headerValue },
      ),
    },
  ];
}

t.test('card numbers with every separator, in every placement, are refused and not echoed', async (t) => {
  const before = await paymentCount();
  const seps = ['', ' ', '.', '-', '/', '_', '  ', '-/', '\u00a0', '\u2013', '\u3000'];
  const cards = fc.sample(cardDigits, { numRuns: seps.length, seed: 20261211 });
  for (const [i, sep] of seps.entries()) {
    const digits = cards[i] ?? '4111111111111111';
    const text = digits.replace(/(\d{4})(?=\d)/g, `$1${sep}`);
    const ascii = /^[ ./_-]*$/.test(sep) ? sep : '-';
    for (const p of placementsFor({ digits, text }, ascii)) {
      const name = `${p.name} (${JSON.stringify(sep)})`;
      generatedCards.push(digits);
      const res = await send(p.opts);
      const body = res.json() as { code?: string; field?: string };
      t.equal(res.statusCode, 422, `${name}: 422`, { body: res.body });
      t.equal(body.code, 'card_number_not_allowed', `${name}: card_number_not_allowed`);
      t.equal(body.field, p.field, `${name}: names the field`);
      t.notOk(digitsOnly(res.body).includes(digits), `${name}: the number is not echoed`);
    }
  }
  t.equal(await paymentCount(), before, 'no payment recorded');
});

t.test('property: generated card numbers (separators, Unicode digits) in random places are 422', async (t) => {
  const before = await paymentCount();
  await fc.assert(
    fc.asyncProperty(
      renderedCard,
      surrounding,
      fc.nat(),
      fc.constantFrom(' ', '.', '-', '/', '_'),
      async (card, around, pick, ascii) => {
        const placements = placementsFor(
          { digits: card.digits, text: around.before + card.text + around.after },
          ascii,
        );
        const p = placements[pick % placements.length] as (typeof placements)[number];
        generatedCards.push(card.digits);
        const res = await send(p.opts);
        const body = res.json() as { code?: string; field?: string };
        const ok =
          res.statusCode === 422 &&
          body.code === 'card_number_not_allowed' &&
          body.field === p.field &&
          !digitsOnly(res.body).includes(card.digits);
        if (!ok) t.fail(`${p.name}: ${JSON.stringify(card)} -> ${res.statusCode} ${res.body}`);
        return ok;
      },
    ),
    { numRuns: 300, seed: 20261211 },
  );
  t.equal(await paymentCount(), before, 'no payment recorded');
  t.ok(generatedCards.length >= 300, `${generatedCards.length} card numbers sent`);
});

t.test('R35/R36: the canary account number is in the ACH file served to ops, and nowhere else', async (t) => {
  const [first, , byPhone] = paymentIds as [string, string, string];
  const created = await send({ method: 'POST', url: '/v1/ops/ach-files', payload: {} });
  t.equal(created.statusCode, 201, created.body);
  const fileId = created.json().id as string;
  t.equal(created.json().entryCount, 2, 'the two canary payments not returned');
  // The one place the full number may appear: the download's body (kept out of `seen`, headers only).
  const file = await ctx.request({ method: 'GET', url: `/v1/ops/ach-files/${fileId}` });
  t.equal(file.statusCode, 200);
  t.equal(occurrences(file.body, CANARY_ACCOUNT), 2, 'positive control: the file holds the full account number');
  seen.push(`GET /v1/ops/ach-files/:id -> ${file.statusCode} ${JSON.stringify(file.headers)}`);
  answers.push(`${file.statusCode} ${JSON.stringify(file.headers)}`);
  t.equal((await send({ method: 'GET', url: '/v1/ops/ach-files' })).statusCode, 200);
  const traceOf = async (id: string) => (await send({ method: 'GET', url: `/v1/payments/${id}` })).json().traceNumber;
  // A return file that carries the canary in its return entry and as a notification's corrected account.
  const returns = returnFile(
    [
      { originalTrace: await traceOf(first), code: 'R03', account: CANARY_ACCOUNT },
      { originalTrace: await traceOf(byPhone), code: 'C01', account: CANARY_ACCOUNT, corrected: CANARY_ACCOUNT },
    ],
    { original: file.body },
  );
  const post = (payload: string) =>
    send({ method: 'POST', url: '/v1/ops/ach-returns', payload, headers: { 'content-type': 'text/plain' } });
  const applied = await post(returns);
  t.equal(applied.statusCode, 200, applied.body);
  t.equal(applied.json().returns[0].outcome, 'returned');
  t.same(applied.json().notificationsOfChange[0].corrected, { accountLast4: CANARY_LAST4 }, 'last 4 only');
  t.equal((await post(returns)).json().repeat, true);
  const malformed = await post(returns.replace('799R03', '799X03'));
  t.equal(malformed.statusCode, 400, 'a malformed file is refused without echoing it');
  t.equal(malformed.json().code, 'invalid_nacha_file');
});

t.test('every read of the payments shows masked details only', async (t) => {
  for (const id of paymentIds) {
    const res = await send({ method: 'GET', url: `/v1/payments/${id}` });
    t.equal(res.statusCode, 200);
    const p = res.json() as PaymentJson;
    if (p.bankAccount) t.same(Object.keys(p.bankAccount).sort(), ['last4', 'routingNumber']);
    if (p.card) t.same(Object.keys(p.card).sort(), ['brand', 'expMonth', 'expYear', 'last4']);
  }
  for (const memberId of [account.memberId, cardAccount.memberId]) {
    const list = await send({ method: 'GET', url: `/v1/payments?memberId=${memberId}` });
    t.equal(list.statusCode, 200);
    t.ok(list.json().data.length > 0);
  }
  t.equal((await send({ method: 'GET', url: '/v1/ops/unapplied-payments' })).statusCode, 200);
  t.equal((await send({ method: 'GET', url: `/v1/invoices?memberId=${account.memberId}` })).statusCode, 200);
  t.equal((await send({ method: 'GET', url: `/v1/enrollments/${health.id}` })).statusCode, 200);
  // R32: the bill of an invoice the canary account paid on; its text is checked with the responses.
  const binder = (await send({ method: 'GET', url: `/v1/invoices?memberId=${account.memberId}` })).json().data[0];
  const bill = await ctx.request({ method: 'GET', url: `/v1/invoices/${binder.id}/bill.pdf` });
  t.equal(bill.statusCode, 200);
  const billText = pdfText(bill.rawPayload);
  t.ok(billText.includes(account.memberId), 'positive control: the bill text names the member');
  seen.push(`GET /v1/invoices/${binder.id}/bill.pdf (text) -> ${bill.statusCode}\n${billText}`);
  answers.push(`${bill.statusCode}\n${billText}`);
});

/** Counts of every forbidden value in a text. */
function leaks(text: string) {
  const hex = Buffer.from(CANARY_ACCOUNT).toString('hex');
  const b64 = Buffer.from(CANARY_ACCOUNT).toString('base64');
  return {
    canaryAccount: occurrences(text, CANARY_ACCOUNT),
    canaryAccountHex: occurrences(text.toLowerCase(), hex),
    canaryAccountBase64: occurrences(text, b64),
    cardNumber: CARD_FORMS.reduce((n, f) => n + occurrences(text, f), 0),
    securityCode: securityCodeIn(text, CVV),
    generatedCardNumbers: generatedHits(text),
  };
}
const NONE = {
  canaryAccount: 0,
  canaryAccountHex: 0,
  canaryAccountBase64: 0,
  cardNumber: 0,
  securityCode: 0,
  generatedCardNumbers: 0,
};
/** Generated card numbers found in a text in any form: digits only, after NFKC and Unicode digit mapping. */
t.test('lockbox deposits (R34): a card number in any item field is refused, never echoed or stored', async (t) => {
  const before = await paymentCount();
  const item = {
    sequence: 1,
    method: 'check',
    amountCents: 1000,
    checkNumber: '3001',
    payableTo: 'Health Connector',
    remittance: { memberId: cardAccount.memberId, firstName: 'Rui', lastName: 'Costa', carrierName: carrier.name },
  };
  const smuggled: [string, Record<string, unknown>][] = [
    ['as the payee', { ...item, payableTo: `Health Connector ${CARD_FORMS[1]}` }],
    ['as the check number', { ...item, checkNumber: CARD }],
    ['as a money order serial number', { ...item, method: 'money_order', checkNumber: undefined, serialNumber: CARD }],
    ['as the scan line', { ...item, scanLine: CARD_FORMS[1] }],
    ['in the remittance name', { ...item, remittance: { ...item.remittance, lastName: `Costa ${CARD}` } }],
    [
      'in the remittance address',
      { ...item, remittance: { ...item.remittance, mailingAddress: { line1: `${CARD_FORMS[2]} Main St` } } },
    ],
    ['as the remittance Member ID', { ...item, remittance: { ...item.remittance, memberId: CARD } }],
    ['in an unknown item field', { ...item, memo: CARD }],
  ];
  for (const [name, raw] of smuggled) {
    const body = JSON.parse(
      JSON.stringify({
        depositId: `LBX-safety-${name.replaceAll(' ', '-')}`,
        depositDate: '2026-11-29',
        items: [raw],
        control: { itemCount: 1, totalCents: 1000 },
      }),
    ) as Record<string, unknown>;
    const res = await send({ method: 'POST', url: '/v1/ops/lockbox-deposits', payload: body });
    t.equal(res.statusCode, 422, name, { body: res.body });
    t.equal(res.json().code, 'card_number_not_allowed', name);
  }
  const asDepositId = await send({
    method: 'POST',
    url: '/v1/ops/lockbox-deposits',
    payload: {
      depositId: `LBX-${CARD}`,
      depositDate: '2026-11-29',
      items: [item],
      control: { itemCount: 1, totalCents: 1000 },
    },
  });
  t.equal(asDepositId.statusCode, 422, 'a card number in the deposit id');
  // Sent past `send`: its record holds the request line, whose URL is the card number sent here.
  const asPath = await ctx.request({ method: 'GET', url: `/v1/ops/lockbox-deposits/LBX-${CARD}` });
  t.equal(asPath.statusCode, 422, 'a card number in the GET path');
  t.notOk(asPath.body.includes(CARD), 'the refusal does not echo it');
  const stored = await ctx.database.db.selectFrom('lockbox_deposits').select('answer').execute();
  t.notOk(JSON.stringify(stored).includes(CARD), 'no stored deposit answer holds the card number');
  t.equal(await paymentCount(), before, 'no smuggling attempt recorded a payment');
});

function generatedHits(text: string): number {
  const digits = digitsOnly(text);
  return [...new Set(generatedCards)].filter((c) => digits.includes(c)).length;
}

t.test('no canary in any response', async (t) => {
  const all = seen.join('\n');
  t.ok(seen.length > 30, `${seen.length} responses collected`);
  t.ok(all.includes(`"last4":"${CANARY_LAST4}"`), 'positive control: the last 4 are shown');
  t.same(leaks(answers.join('\n')), NONE);
  const offending = seen.filter((s) => s.includes(CANARY_ACCOUNT) || CARD_FORMS.some((f) => s.includes(f)));
  t.same(
    offending.map((s) => {
      const [head = '', ...body] = s.split('\n');
      return `${head.split(' {')[0]}: ${body.join('\n')}`;
    }),
    [],
    'responses that echo a canary',
  );
});

t.test('no canary in the log (level trace, app redaction)', async (t) => {
  const text = log.text();
  t.ok(log.lines() > 50, `positive control: ${log.lines()} log lines captured`);
  t.ok(text.includes('/v1/payments'), 'positive control: payment requests are logged');
  // Access logs name the route pattern, never the path (which can carry a card number or a Member ID).
  t.ok(text.includes('/v1/payments/:id'), 'positive control: requests with ids are logged by their route pattern');
  t.same(leaks(text), NONE);
});

t.test('no canary in the database (full pg_dump; per-table select as fallback)', async (t) => {
  const dump = await dumpDatabase(ctx);
  t.comment(
    dump.via === 'pg_dump'
      ? 'path used: a full pg_dump (schema and data) of the test database'
      : 'path used: pg_dump unavailable or refused, so every row of every public table, selected as JSON',
  );
  t.ok(dump.text.length > 1000, `positive control: ${dump.text.length} characters dumped via ${dump.via}`);
  for (const id of paymentIds) t.ok(dump.text.includes(id), `positive control: payment ${id} is in the dump`);
  t.ok(dump.text.includes(CANARY_LAST4), 'positive control: the last 4 are stored');
  t.same(leaks(dump.text), NONE, `no canary in the ${dump.via} output`);
});
