import t from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf } from '../helpers/billing.js';
import { newAccount, newCarrier, newEnrollment, newMemberId, setClock } from '../helpers/factories.js';
import { bankAccount, card, check, moneyOrder, pay } from '../helpers/payments.js';
import { expectProblem, PROBLEM } from '../helpers/responses.js';

// SPEC conventions, "Card data" (what is NOT a card number, and where the screen must not echo) and
// "Errors" (a body nested too deep is a 400 problem, never a 500). The refusals themselves, with
// generated card numbers and the log/response/pg_dump search, are in data-safety.test.ts.
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });
await setClock(ctx, '2026-12-10T10:00:00-05:00');

async function freshBinder() {
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  return { e, binder: await binderOf(ctx, e) };
}

/** Pays 100 on the binder of a fresh enrollment: online names its invoice, mail sends its slip. */
async function payOnAFreshBinder(channel: 'online' | 'mail', method: string, details: Record<string, unknown>) {
  const { binder } = await freshBinder();
  const target =
    channel === 'mail' ? { slip: { invoiceNumber: binder.invoiceNumber } } : { invoiceNumber: binder.invoiceNumber };
  return pay(ctx, { channel, method, amountCents: 100, ...target, ...details });
}

t.test('valid fixed-digit values that pass Luhn are not refused by the card screen', async (t) => {
  {
    const res = await payOnAFreshBinder('online', 'checking', bankAccount('4111111111111111'));
    t.equal(res.statusCode, 201, 'a 16-digit Luhn-valid bank account number', { body: res.body });
    t.equal(res.json().bankAccount.last4, '1111');
  }
  {
    const res = await payOnAFreshBinder('mail', 'check', check({ checkNumber: '378282246310005' }));
    t.equal(res.statusCode, 201, 'a 15-digit Luhn-valid check number', { body: res.body });
  }
  {
    const res = await payOnAFreshBinder('mail', 'money_order', moneyOrder({ serialNumber: 'MO-378282246310005' }));
    t.equal(res.statusCode, 201, 'a money order serial number with 15 Luhn-valid digits', { body: res.body });
  }
  {
    const account = await newAccount(ctx, { phoneNumbers: ['+378282246310005', '+1 (617) 555-0199'] });
    t.same(account.phoneNumbers, ['+378282246310005', '+16175550199'], 'E.164 phone numbers of 15 digits');
    const found = await ctx.request({ method: 'GET', url: '/v1/accounts?phoneNumber=%2B378282246310005' });
    t.equal(found.statusCode, 200, 'looked up by that phone number', { body: found.body });
    t.equal(found.json().data[0]?.memberId, account.memberId);
  }
  {
    const e = await newEnrollment(ctx, {
      carrierId: carrier.id,
      coverageStart: '2027-01-01',
      planName: 'Plan 4111 1111 1111 1111 0000',
    });
    t.equal(e.planName, 'Plan 4111 1111 1111 1111 0000', 'a run of 20 digits is not a card number (judged whole)');
    const res = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${e.id}/cancellation`,
      payload: { reason: 'paid with slip 1000000017 00000045000 3 and invoice 1000000017' },
    });
    t.equal(res.statusCode, 200, 'a scan line and an invoice number in free text', { body: res.body });
  }
});

t.test('card.token has a processor-token format: digits and separators are not a token', async (t) => {
  const { binder } = await freshBinder();
  for (const token of [
    '4111111111111112',
    '4111 1111 1111 1112',
    '4111-1111-1111-1112',
    'tok_',
    'TOK_abc',
    'tok abc',
  ]) {
    const res = await pay(ctx, {
      channel: 'online',
      method: 'credit_card',
      amountCents: 100,
      invoiceNumber: binder.invoiceNumber,
      ...card({ token }),
    });
    const body = expectProblem(t, res, 400, 'validation_failed', JSON.stringify(token));
    t.ok(
      (body.errors as { field: string }[]).some((e) => e.field === 'body.card.token'),
      `${JSON.stringify(token)}: body.card.token is named`,
    );
    t.notOk(res.body.includes(token), `${JSON.stringify(token)}: not echoed`);
  }
  for (const token of ['tok_visa_4242', 'pm_1Q2w3E4r5T6y', 'tok_mastercard_4444']) {
    const res = await payOnAFreshBinder('online', 'credit_card', card({ token }));
    t.equal(res.statusCode, 201, `${token} is a token`, { body: res.body });
  }
});

t.test('refusals before the screen (401, 404, 405) do not echo a card number in the URL', async (t) => {
  const attempts = [
    { method: 'GET' as const, url: '/v1/accounts?phoneNumber=4111+1111+1111+1111', key: null },
    { method: 'GET' as const, url: '/v1/enrollments/4111%201111%201111%201111', key: null },
    { method: 'GET' as const, url: '/v1/nothing-here/4111-1111-1111-1111' },
    { method: 'PATCH' as const, url: '/v1/enrollments/4111111111111111' },
  ];
  for (const a of attempts) {
    const res = await ctx.request(a);
    t.ok(res.statusCode >= 400, `${a.method} ${a.url}: ${res.statusCode}`);
    t.match(res.headers['content-type'], PROBLEM);
    t.notOk(res.body.replace(/[^0-9]/g, '').includes('4111111111111111'), `${a.url}: not echoed`, { body: res.body });
  }
});

t.test(
  'a JSON body nested too deep is 400 body_too_deep on every route, and the service keeps answering',
  async (t) => {
    const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const bodies: [string, string][] = [
      ['30,000-deep array', deepArray(30_000)],
      ['10,000-deep object', deepObject(10_000)],
      ['33 deep', deepArray(33)],
      ['deep inside a valid-looking payment', `{"channel":"online","memo":${deepArray(20_000)}}`],
    ];
    const { e } = await freshBinder();
    const routes = [
      { method: 'POST' as const, url: '/v1/payments', headers: { 'idempotency-key': crypto.randomUUID() } },
      { method: 'POST' as const, url: '/v1/accounts' },
      { method: 'POST' as const, url: `/v1/enrollments/${e.id}/cancellation` },
      { method: 'POST' as const, url: '/v1/ops/deadline-sweeps' },
      { method: 'PUT' as const, url: '/v1/ops/clock' },
    ];
    for (const route of routes) {
      for (const [name, payload] of bodies) {
        const res = await ctx.request({
          ...route,
          payload,
          headers: { ...(route.headers ?? {}), 'content-type': 'application/json' },
        });
        expectProblem(t, res, 400, 'body_too_deep', `${route.method} ${route.url}: ${name}`);
      }
    }
    // 32 levels are parsed (and then judged by the schema as usual).
    const at32 = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${e.id}/cancellation`,
      payload: `{"reason":${deepArray(31)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(t, at32, 400, 'validation_failed', '32 deep: parsed, refused by the schema');
    t.equal((await ctx.request({ method: 'GET', url: '/health', key: null })).statusCode, 200, 'still alive');
    const after = await ctx.request({
      method: 'POST',
      url: '/v1/accounts',
      payload: {
        memberId: newMemberId(),
        firstName: 'Ana',
        lastName: 'Lopes',
        mailingAddress: { line1: '1 Main St', city: 'Boston', state: 'MA', postalCode: '02108' },
        phoneNumbers: [],
      },
    });
    t.equal(after.statusCode, 201, 'and still takes requests', { body: after.body });
  },
);

t.test('a malformed JSON body is 400 malformed_body and the parser message does not echo it', async (t) => {
  for (const payload of [
    'x4111111111111111',
    '{"a": x4111 1111 1111 1111}',
    'tok_4111111111111111',
    '"4111111111111111',
  ]) {
    const res = await ctx.request({
      method: 'POST',
      url: '/v1/carriers',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(t, res, 400, 'malformed_body', payload);
    t.notOk(res.body.replace(/[^0-9]/g, '').includes('4111111111111111'), `${payload}: not echoed`, { body: res.body });
  }
});
