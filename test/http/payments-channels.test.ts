import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf } from '../helpers/billing.js';
import { newAccount, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import {
  ACCEPTED,
  badCheckDigit,
  bankAccount,
  CHANNELS,
  card,
  check,
  detailsFor,
  getPayment,
  isAbaValid,
  METHODS,
  malformedDetailsFor,
  moneyOrder,
  type PaymentJson,
  pay,
  paymentCount,
  paymentsOf,
  sorted,
  targetFor,
  VALID_ROUTING,
} from '../helpers/payments.js';
import { expectProblem, expectStatus, PROBLEM } from '../helpers/responses.js';

// R19 (channels and methods) and R20 (method details) through POST /v1/payments, plus the
// Idempotency-Key requirement and guest payments. One database for the file; every test sets the
// service clock itself and works on enrollments it creates.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });

const DEC_10 = '2026-12-10T10:00:00-05:00';

async function freshBinder(clock = DEC_10) {
  await setClock(ctx, clock);
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const binder = await binderOf(ctx, e);
  return { e, binder };
}

/**
 * Pays 100 online by `method` on this invoice with these details, and asserts a 400 validation_failed
 * whose listed errors include a field naming `field`.
 */
async function refusedField(
  t: Test,
  method: string,
  invoiceNumber: string,
  details: Record<string, unknown>,
  label: string,
  field: string,
  what: string,
): Promise<void> {
  const res = await pay(ctx, { channel: 'online', method, amountCents: 100, invoiceNumber, ...details });
  const problem = expectProblem(t, res, 400, 'validation_failed', label) as { errors?: { field: string }[] };
  t.ok(
    (problem.errors ?? []).some((err) => err.field.includes(field)),
    `${label}: ${what}`,
  );
}

t.test('R19: every method a channel accepts is taken (201) with its details, masked in the response', async (t) => {
  for (const channel of CHANNELS) {
    for (const method of ACCEPTED[channel]) {
      const { e, binder } = await freshBinder();
      const res = await pay(
        ctx,
        {
          channel,
          method,
          amountCents: 10000,
          ...targetFor(channel, binder.invoiceNumber),
          ...detailsFor(method),
        },
        { key: connector.secret },
      );
      const label = `${channel}/${method}`;
      t.equal(res.statusCode, 201, `${label}: 201 (${res.body})`);
      const p = res.json() as PaymentJson;
      t.match(p, { status: 'received', channel, method, amountCents: 10000, memberId: e.memberId }, label);
      t.equal(p.enrollmentId, e.id, `${label}: applied to the enrollment`);
      t.strictSame(
        p.applications.map((a) => ({ invoiceId: a.invoiceId, amountCents: a.amountCents })),
        [{ invoiceId: binder.id, amountCents: 10000 }],
        `${label}: applied to the binder`,
      );
      t.equal(p.creditedCents, 0);
      t.equal(p.unappliedCents, 0);
      if (method === 'checking' || method === 'savings') {
        t.strictSame(p.bankAccount, { routingNumber: VALID_ROUTING[0], last4: '6789' }, `${label}: masked bank`);
        t.notOk(res.body.includes('000123456789'), `${label}: no full account number`);
      } else {
        t.notOk(p.bankAccount, `${label}: no bank block`);
      }
      if (method === 'credit_card' || method === 'debit_card') {
        t.match(p.card, { brand: 'visa', last4: '4242' }, `${label}: card brand and last 4`);
        t.notOk(res.body.includes('tok_visa_debit'), `${label}: processor token not echoed`);
      } else {
        t.notOk(p.card, `${label}: no card block`);
      }
      if (method === 'check') t.strictSame(p.check, { checkNumber: '1042', payableTo: 'Health Connector' });
      if (method === 'money_order') {
        t.strictSame(p.moneyOrder, { serialNumber: 'MO-778812', payableTo: 'Health Connector' });
      }
      const after = await binderOf(ctx, e);
      t.equal(after.amountPaidCents, 10000, `${label}: counted on the invoice`);
      t.equal(after.status, 'partially_paid', `${label}: invoice partially paid`);
    }
  }
});

t.test('R19: every other method is 422 method_not_accepted listing exactly the channel accepted methods', async (t) => {
  const { e, binder } = await freshBinder();
  const before = await paymentCount(ctx);
  let refused = 0;
  for (const channel of CHANNELS) {
    const accepted: readonly string[] = ACCEPTED[channel];
    for (const method of METHODS.filter((m) => !accepted.includes(m))) {
      const variants: [string, Record<string, unknown>][] = [
        ['with proper details', detailsFor(method)],
        ['without details', {}],
        ['with malformed details', malformedDetailsFor(method)],
      ];
      for (const [variant, details] of variants) {
        const label = `${channel}/${method} ${variant}`;
        const res = await pay(
          ctx,
          { channel, method, amountCents: 10000, ...targetFor(channel, binder.invoiceNumber), ...details },
          { key: connector.secret },
        );
        const body = expectProblem(t, res, 422, 'method_not_accepted', label) as { acceptedMethods?: string[] };
        t.strictSame(sorted(body.acceptedMethods ?? []), sorted(accepted), `${label}: acceptedMethods`);
        refused++;
      }
    }
  }
  t.equal(refused, 19 * 3, 'all 19 refused (channel, method) pairs were tried three ways');
  t.equal(await paymentCount(ctx), before, 'no refused payment was recorded');
  t.strictSame(await paymentsOf(ctx, e.memberId), []);
  t.equal((await binderOf(ctx, e)).amountPaidCents, 0, 'nothing counted on the invoice');
});

t.test('R19: an unknown channel or method breaks the schema (400)', async (t) => {
  const { binder } = await freshBinder();
  for (const [channel, method] of [
    ['online', 'bitcoin'],
    ['fax', 'checking'],
    ['ONLINE', 'checking'],
    ['online', 'Checking'],
  ]) {
    const res = await pay(ctx, {
      channel,
      method,
      amountCents: 100,
      invoiceNumber: binder.invoiceNumber,
      ...bankAccount(),
    });
    expectProblem(t, res, 400, 'validation_failed', `${channel}/${method}`);
  }
});

t.test('R20: a routing number with a bad ABA check digit is 422 invalid_routing_number', async (t) => {
  const { e, binder } = await freshBinder();
  const before = await paymentCount(ctx);
  for (const good of VALID_ROUTING) {
    t.ok(isAbaValid(good), `${good} is a valid ABA number (independent check)`);
    const bad = badCheckDigit(good);
    for (const [channel, method] of [
      ['online', 'checking'],
      ['online', 'savings'],
      ['phone', 'checking'],
      ['phone', 'savings'],
    ] as const) {
      const res = await pay(ctx, {
        channel,
        method,
        amountCents: 100,
        invoiceNumber: binder.invoiceNumber,
        ...bankAccount('000123456789', bad),
      });
      expectProblem(t, res, 422, 'invalid_routing_number', `${channel}/${method} ${bad}`);
    }
  }
  t.equal(await paymentCount(ctx), before, 'nothing recorded');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 0);
});

t.test('R20: routing numbers are 9 digits and account numbers 4 to 17 digits (else 400)', async (t) => {
  const { binder } = await freshBinder();
  const bad: [string, Record<string, unknown>][] = [
    ['account number of 3 digits', bankAccount('123')],
    ['account number of 18 digits', bankAccount('123456789012345678')],
    ['account number with a letter', bankAccount('12345a78')],
    ['empty account number', bankAccount('')],
    ['account number as a JSON number', { bankAccount: { routingNumber: VALID_ROUTING[0], accountNumber: 12345678 } }],
    ['routing number of 8 digits', bankAccount('12345678', '01100001')],
    ['routing number as a JSON number', { bankAccount: { routingNumber: 21000021, accountNumber: '12345678' } }],
    ['bank account without account number', { bankAccount: { routingNumber: VALID_ROUTING[0] } }],
    ['bank account with an extra field', { bankAccount: { ...bankAccount().bankAccount, holder: 'Maria' } }],
  ];
  const before = await paymentCount(ctx);
  for (const [label, details] of bad) {
    await refusedField(
      t,
      'checking',
      binder.invoiceNumber,
      details,
      label,
      'bankAccount',
      'the failing field is listed',
    );
  }
  t.equal(await paymentCount(ctx), before, 'nothing recorded');

  for (const [accountNumber, last4] of [
    ['1234', '1234'],
    ['12345678901234567', '4567'],
    // a 16-digit bank account number that happens to pass Luhn is still a bank account number
    ['4111111111111111', '1111'],
  ] as const) {
    const res = await pay(ctx, {
      channel: 'online',
      method: 'savings',
      amountCents: 100,
      invoiceNumber: binder.invoiceNumber,
      ...bankAccount(accountNumber, VALID_ROUTING[1]),
    });
    t.equal(res.statusCode, 201, `account number ${accountNumber.length} digits accepted (${res.body})`);
    if (res.statusCode === 201) {
      t.strictSame((res.json() as PaymentJson).bankAccount, { routingNumber: VALID_ROUTING[1], last4 });
    }
  }
});

t.test('R20: full bank account numbers never appear in responses, lists, events or stored replays', async (t) => {
  const { e, binder } = await freshBinder();
  const accountNumber = '98765432123';
  const idem = 'bank-mask-1';
  const body = {
    channel: 'phone',
    method: 'checking',
    amountCents: 2500,
    invoiceNumber: binder.invoiceNumber,
    ...bankAccount(accountNumber, VALID_ROUTING[2]),
  };
  const res = await pay(ctx, body, { idempotencyKey: idem });
  expectStatus(res, 201);
  const p = res.json() as PaymentJson;
  t.strictSame(p.bankAccount, { routingNumber: VALID_ROUTING[2], last4: '2123' }, 'routing number and last 4 only');
  t.notOk(res.body.includes(accountNumber), 'POST response');
  const one = await ctx.request({ method: 'GET', url: `/v1/payments/${p.id}` });
  t.strictSame(one.json().bankAccount, { routingNumber: VALID_ROUTING[2], last4: '2123' });
  t.notOk(one.body.includes(accountNumber), 'GET /v1/payments/{id}');
  const list = await ctx.request({ method: 'GET', url: `/v1/payments?memberId=${e.memberId}` });
  t.notOk(list.body.includes(accountNumber), 'GET /v1/payments?memberId=');
  const replay = await pay(ctx, body, { idempotencyKey: idem });
  t.notOk(replay.body.includes(accountNumber), 'replayed response');

  const row = await ctx.database.db.selectFrom('payments').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
  const { bank_account_ciphertext: cipher, ...plainColumns } = row;
  t.notOk(JSON.stringify(plainColumns).includes(accountNumber), 'no plain column holds the account number');
  t.ok(cipher && cipher.length > 0, 'the account number is stored encrypted');
  t.notOk(cipher?.includes(Buffer.from(accountNumber)), 'the ciphertext is not the plain text');
  const stored = await ctx.database.db.selectFrom('idempotency_keys').selectAll().execute();
  t.notOk(
    stored.some((s) => JSON.stringify(s.response_body).includes(accountNumber)),
    'stored idempotent responses hold no account number',
  );
  const events = await ctx.database.db.selectFrom('events').select('data').execute();
  t.notOk(JSON.stringify(events).includes(accountNumber), 'events hold no account number');
});

t.test('R20: an expired card is 422 card_expired; a card expiring this month is accepted', async (t) => {
  const { e, binder } = await freshBinder(); // service clock: 2026-12-10 in Boston
  const cases: [number, number, 201 | 422][] = [
    [11, 2026, 422],
    [1, 2026, 422],
    [12, 2025, 422],
    [12, 2026, 201],
    [1, 2027, 201],
    [6, 2031, 201],
  ];
  for (const [expMonth, expYear, status] of cases) {
    const res = await pay(ctx, {
      channel: 'online',
      method: 'credit_card',
      amountCents: 100,
      invoiceNumber: binder.invoiceNumber,
      ...card({ expMonth, expYear }),
    });
    if (status === 422) expectProblem(t, res, 422, 'card_expired', `${expMonth}/${expYear}`);
    else t.equal(res.statusCode, 201, `${expMonth}/${expYear} accepted (${res.body})`);
  }
  t.equal((await paymentsOf(ctx, e.memberId)).length, 3, 'only the accepted cards were recorded');
});

t.test('R20: card expiry follows the business month in Boston, not UTC', async (t) => {
  const { binder } = await freshBinder();
  // 2027-01-01T03:00Z is still 2026-12-31 in Boston: a 12/2026 card is good for a few more hours.
  await setClock(ctx, '2027-01-01T03:00:00Z');
  const december2026 = {
    channel: 'online',
    method: 'debit_card',
    amountCents: 100,
    invoiceNumber: binder.invoiceNumber,
    ...card({ expMonth: 12, expYear: 2026 }),
  };
  const stillDecember = await pay(ctx, december2026);
  t.equal(stillDecember.statusCode, 201, `accepted on Dec 31 local time (${stillDecember.body})`);
  // 2027-01-01T05:30Z is 00:30 on Jan 1 in Boston: the card has expired.
  await setClock(ctx, '2027-01-01T05:30:00Z');
  const january = await pay(ctx, december2026);
  expectProblem(t, january, 422, 'card_expired', 'Jan 1 local time');
});

t.test('R20: card fields are typed exactly and never coerced (400)', async (t) => {
  const { binder } = await freshBinder();
  const cases: [string, Record<string, unknown>, string][] = [
    ['expMonth as a string', { expMonth: '12' }, 'expMonth'],
    ['expYear as a string', { expYear: '2030' }, 'expYear'],
    ['expMonth as a fraction', { expMonth: 1.5 }, 'expMonth'],
    ['expMonth 13', { expMonth: 13 }, 'expMonth'],
    ['expMonth 0', { expMonth: 0 }, 'expMonth'],
    ['expYear as a boolean', { expYear: true }, 'expYear'],
    ['last4 of two digits', { last4: '42' }, 'last4'],
    ['last4 as a number', { last4: 4242 }, 'last4'],
    ['unknown brand', { brand: 'diners' }, 'brand'],
    ['empty token', { token: '' }, 'token'],
  ];
  const before = await paymentCount(ctx);
  for (const [label, overrides, field] of cases) {
    const res = await pay(ctx, {
      channel: 'online',
      method: 'credit_card',
      amountCents: 100,
      invoiceNumber: binder.invoiceNumber,
      ...card(overrides),
    });
    const body = expectProblem(t, res, 400, 'validation_failed', label) as { errors?: { field: string }[] };
    t.ok(
      (body.errors ?? []).some((err) => err.field.includes(field)),
      `${label}: ${field} is listed`,
    );
  }
  t.equal(await paymentCount(ctx), before, 'nothing recorded');
});

t.test('R20: a full card number anywhere in the body is 422 card_number_not_allowed and is not echoed', async (t) => {
  const { binder } = await freshBinder();
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'as card.token',
      {
        channel: 'online',
        method: 'credit_card',
        invoiceNumber: binder.invoiceNumber,
        ...card({ token: '4111111111111111' }),
      },
      '4111111111111111',
    ],
    [
      'as card.token with dashes',
      {
        channel: 'online',
        method: 'debit_card',
        invoiceNumber: binder.invoiceNumber,
        ...card({ token: '4242-4242-4242-4242' }),
      },
      '4242-4242-4242-4242',
    ],
    [
      'in remittance.firstName',
      {
        channel: 'mail',
        method: 'check',
        remittance: {
          memberId: '123456789012',
          firstName: 'Maria 4111 1111 1111 1111',
          lastName: 'Santos',
          carrierName: 'Harbor Health Plan',
        },
        ...check(),
      },
      '4111 1111 1111 1111',
    ],
    [
      'as a check number',
      {
        channel: 'mail',
        method: 'check',
        slip: { invoiceNumber: binder.invoiceNumber },
        ...check({ checkNumber: '5555555555554444' }),
      },
      '5555555555554444',
    ],
    [
      'an Amex number as invoiceNumber',
      { channel: 'online', method: 'checking', invoiceNumber: '378282246310005', ...bankAccount() },
      '378282246310005',
    ],
    [
      'in an unknown field',
      {
        channel: 'online',
        method: 'credit_card',
        invoiceNumber: binder.invoiceNumber,
        ...card(),
        cardNumber: '4111111111111111',
      },
      '4111111111111111',
    ],
  ];
  const before = await paymentCount(ctx);
  for (const [label, body, number] of cases) {
    const res = await pay(ctx, { amountCents: 100, ...body });
    expectProblem(t, res, 422, 'card_number_not_allowed', label);
    t.notOk(res.body.includes(number), `${label}: the number is not echoed back`);
  }
  t.equal(await paymentCount(ctx), before, 'nothing recorded');
  const stored = await ctx.database.db.selectFrom('idempotency_keys').selectAll().execute();
  t.notOk(JSON.stringify(stored).includes('4111111111111111'), 'no stored response holds a card number');
});

t.test('R20: a security code is never accepted (400), at the top level or in the card', async (t) => {
  const { binder } = await freshBinder();
  const before = await paymentCount(ctx);
  for (const [label, body] of [
    ['card.cvv', { ...card({ cvv: '123' }) }],
    ['top-level cvv', { ...card(), cvv: '123' }],
  ] as const) {
    await refusedField(t, 'credit_card', binder.invoiceNumber, body, label, 'cvv', 'cvv is the failing field');
  }
  t.equal(await paymentCount(ctx), before, 'nothing recorded');
});

t.test('amountCents must be a positive integer number of cents (400 otherwise)', async (t) => {
  const { binder } = await freshBinder();
  const before = await paymentCount(ctx);
  const base = { channel: 'online', method: 'checking', invoiceNumber: binder.invoiceNumber, ...bankAccount() };
  for (const amountCents of [true, '100', 0, -5, 1.5, null, [100], { cents: 100 }]) {
    const res = await pay(ctx, { ...base, amountCents });
    const body = expectProblem(t, res, 400, 'validation_failed', `amountCents ${JSON.stringify(amountCents)}`) as {
      errors?: { field: string }[];
    };
    t.ok(
      (body.errors ?? []).some((err) => err.field.includes('amountCents')),
      'amountCents is listed',
    );
  }
  const missing = await pay(ctx, base);
  expectProblem(t, missing, 400, 'validation_failed', 'amountCents missing');
  t.equal(await paymentCount(ctx), before, 'nothing recorded');
  const oneCent = await pay(ctx, { ...base, amountCents: 1 });
  t.equal(oneCent.statusCode, 201, 'one cent is the smallest payment');
});

t.test('POST /v1/payments without an Idempotency-Key is 400 idempotency_key_required', async (t) => {
  const { e, binder } = await freshBinder();
  const body = {
    channel: 'online',
    method: 'checking',
    amountCents: 45000,
    invoiceNumber: binder.invoiceNumber,
    ...bankAccount(),
  };
  const res = await pay(ctx, body, { idempotencyKey: null, key: connector.secret });
  expectProblem(t, res, 400, 'idempotency_key_required', 'no header');
  const empty = await pay(ctx, body, { idempotencyKey: '', key: connector.secret });
  t.equal(empty.statusCode, 400, 'an empty Idempotency-Key is no key');
  t.strictSame(await paymentsOf(ctx, e.memberId), [], 'nothing recorded');
  const invoice = await binderOf(ctx, e);
  t.equal(invoice.amountPaidCents, 0);
  t.equal(invoice.status, 'open');
});

t.test('online guest payments (guest: true) are taken and kept as guest payments', async (t) => {
  const { e, binder } = await freshBinder();
  const byCard = await pay(
    ctx,
    {
      channel: 'online',
      guest: true,
      method: 'debit_card',
      amountCents: 20000,
      invoiceNumber: binder.invoiceNumber,
      ...card(),
    },
    { key: connector.secret },
  );
  t.equal(byCard.statusCode, 201, byCard.body);
  const p = byCard.json() as PaymentJson;
  t.equal(p.guest, true);
  t.equal(p.memberId, e.memberId, 'a guest payment still belongs to the member it pays for');
  const stored = await getPayment(ctx, p.id);
  t.equal(stored.guest, true, 'guest is kept');
  const byBank = await pay(ctx, {
    channel: 'online',
    guest: true,
    method: 'savings',
    amountCents: 5000,
    enrollmentId: e.id,
    ...bankAccount(),
  });
  t.equal(byBank.statusCode, 201, byBank.body);
  const signedIn = await pay(ctx, {
    channel: 'online',
    method: 'savings',
    amountCents: 1000,
    enrollmentId: e.id,
    ...bankAccount(),
  });
  t.equal((signedIn.json() as PaymentJson).guest, false, 'a signed-in payment is not a guest payment');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 26000);
  const notBoolean = await pay(ctx, {
    channel: 'online',
    guest: 'true',
    method: 'savings',
    amountCents: 100,
    invoiceNumber: binder.invoiceNumber,
    ...bankAccount(),
  });
  expectProblem(t, notBoolean, 400, 'validation_failed', 'guest as a string');
});

t.test('guest is online only: a guest payment on phone or mail is refused (422) and not recorded', async (t) => {
  const cases = [
    ['phone', { channel: 'phone', method: 'checking', ...bankAccount() }, 'invoiceNumber'],
    ['mail', { channel: 'mail', method: 'check', ...check() }, 'slip'],
    ['mail money order', { channel: 'mail', method: 'money_order', ...moneyOrder() }, 'slip'],
  ] as const;
  for (const [label, body, target] of cases) {
    const { e, binder } = await freshBinder();
    const res = await pay(ctx, {
      ...body,
      guest: true,
      amountCents: 100,
      ...(target === 'slip'
        ? { slip: { invoiceNumber: binder.invoiceNumber } }
        : { invoiceNumber: binder.invoiceNumber }),
    });
    t.equal(res.statusCode, 422, `guest on ${label} is refused (got ${res.statusCode}: ${res.body})`);
    t.match(String(res.headers['content-type']), PROBLEM, `${label}: problem+json`);
    t.strictSame(await paymentsOf(ctx, e.memberId), [], `${label}: nothing recorded`);
    t.equal((await binderOf(ctx, e)).amountPaidCents, 0, `${label}: nothing counted`);
  }
});

t.test('receivedAt may not be more than 5 minutes after the service clock', async (t) => {
  const { e, binder } = await freshBinder('2026-12-10T10:00:00-05:00');
  const body = {
    channel: 'mail',
    method: 'money_order',
    amountCents: 100,
    slip: { invoiceNumber: binder.invoiceNumber },
    ...moneyOrder(),
  };
  const future = await pay(ctx, { ...body, receivedAt: '2026-12-10T10:06:00-05:00' });
  expectProblem(t, future, 422, 'timestamp_in_future', '6 minutes ahead');
  const nearly = await pay(ctx, { ...body, receivedAt: '2026-12-10T10:04:00-05:00' });
  t.equal(nearly.statusCode, 201, '4 minutes ahead is clock skew, accepted');
  const noOffset = await pay(ctx, { ...body, receivedAt: '2026-12-10T10:00:00' });
  expectProblem(t, noOffset, 400, 'validation_failed', 'instant without offset');
  t.equal((await paymentsOf(ctx, e.memberId)).length, 1);
});

t.test('only connector and ops keys take payments', async (t) => {
  const { binder } = await freshBinder();
  const carrierKey = await ctx.newKey('carrier', carrier.id);
  const body = {
    channel: 'online',
    method: 'checking',
    amountCents: 100,
    invoiceNumber: binder.invoiceNumber,
    ...bankAccount(),
  };
  const asCarrier = await pay(ctx, body, { key: carrierKey.secret });
  expectProblem(t, asCarrier, 403, 'forbidden', 'carrier key');
  const anonymous = await ctx.request({
    method: 'POST',
    url: '/v1/payments',
    payload: body,
    key: null,
    headers: { 'idempotency-key': 'x' },
  });
  t.equal(anonymous.statusCode, 401);
  const account = await newAccount(ctx);
  t.strictSame(await paymentsOf(ctx, account.memberId), []);
});
