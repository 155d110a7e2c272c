import t from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf } from '../helpers/billing.js';
import { newAccount, newCarrier, newEnrollment, newMemberId, setClock } from '../helpers/factories.js';
import { check, moneyOrder, pay, paymentCount, payOk } from '../helpers/payments.js';
import { expectProblem } from '../helpers/responses.js';

// SPEC conventions: "A name must contain a letter or digit: blank or white-space-only names are 400",
// and "names compared for matching ignore case and repeated white space".
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });
await setClock(ctx, '2026-12-10T10:00:00-05:00');

const BLANKS: [string, string][] = [
  ['empty', ''],
  ['spaces', '   '],
  ['tab and newline', '\t\n'],
  ['no-break spaces', '\u00a0\u00a0'],
  ['ideographic space and zero-width space', '\u3000\u200b'],
  ['punctuation only', '-.'],
];

const account = await newAccount(ctx, { firstName: 'Ana', lastName: 'Lopes' });
const enrollment = await newEnrollment(ctx, {
  memberId: account.memberId,
  carrierId: carrier.id,
  coverageStart: '2027-01-01',
});
const binder = await binderOf(ctx, enrollment);
const address = { line1: '1 Main St', city: 'Boston', state: 'MA', postalCode: '02108' };
const remittance = { memberId: account.memberId, firstName: 'Ana', lastName: 'Lopes', carrierName: carrier.name };

/** Every name-like field a request can carry, with the request that carries `v` there. */
const NAME_FIELDS: { field: string; send: (v: string) => ReturnType<typeof ctx.request> }[] = [
  {
    field: 'body.firstName',
    send: (v) =>
      ctx.request({
        method: 'POST',
        url: '/v1/accounts',
        payload: {
          memberId: newMemberId(),
          firstName: v,
          lastName: 'Lopes',
          mailingAddress: address,
          phoneNumbers: [],
        },
      }),
  },
  {
    field: 'body.lastName',
    send: (v) =>
      ctx.request({
        method: 'POST',
        url: '/v1/accounts',
        payload: { memberId: newMemberId(), firstName: 'Ana', lastName: v, mailingAddress: address, phoneNumbers: [] },
      }),
  },
  {
    field: 'body.name',
    send: (v) => ctx.request({ method: 'POST', url: '/v1/carriers', payload: { id: `c-${newMemberId()}`, name: v } }),
  },
  {
    field: 'body.name',
    send: (v) => ctx.request({ method: 'POST', url: '/v1/api-keys', payload: { role: 'connector', name: v } }),
  },
  {
    field: 'body.planName',
    send: (v) =>
      ctx.request({
        method: 'POST',
        url: '/v1/enrollments',
        payload: {
          memberId: account.memberId,
          carrierId: carrier.id,
          coverageType: 'dental',
          planName: v,
          monthlyPremiumCents: 2000,
        },
      }),
  },
  ...(['firstName', 'lastName', 'carrierName'] as const).map((name) => ({
    field: `body.remittance.${name}`,
    send: (v: string) =>
      pay(ctx, {
        channel: 'mail',
        method: 'check',
        amountCents: 100,
        remittance: { ...remittance, [name]: v },
        ...check(),
      }),
  })),
  {
    field: 'body.check.payableTo',
    send: (v) =>
      pay(ctx, {
        channel: 'mail',
        method: 'check',
        amountCents: 100,
        slip: { invoiceNumber: binder.invoiceNumber },
        ...check({ payableTo: v }),
      }),
  },
  {
    field: 'body.moneyOrder.payableTo',
    send: (v) =>
      pay(ctx, {
        channel: 'mail',
        method: 'money_order',
        amountCents: 100,
        slip: { invoiceNumber: binder.invoiceNumber },
        ...moneyOrder({ payableTo: v }),
      }),
  },
];

t.test('a blank or white-space-only name is 400 validation_failed naming the field, in every name field', async (t) => {
  const payments = await paymentCount(ctx);
  for (const { field, send } of NAME_FIELDS) {
    for (const [label, value] of BLANKS) {
      const res = await send(value);
      const body = expectProblem(t, res, 400, 'validation_failed', `${field} ${label}`);
      t.ok(
        ((body.errors ?? []) as { field: string }[]).some((e) => e.field === field),
        `${field} ${label}: ${field} is listed`,
        { body: res.body },
      );
    }
  }
  t.equal(await paymentCount(ctx), payments, 'no payment recorded');
  const blankRows = await ctx.database.db
    .selectFrom('accounts')
    .select('member_id')
    .where((eb) => eb.or([eb(eb.fn('btrim', ['first_name']), '=', ''), eb(eb.fn('btrim', ['last_name']), '=', '')]))
    .execute();
  t.same(blankRows, [], 'no account with a blank name');
});

t.test(
  'names with a letter or digit in any script are taken, tidied (trimmed, inner white space collapsed)',
  async (t) => {
    const a = await newAccount(ctx, { firstName: '  José\u00a0 María ', lastName: '\u674e' });
    t.equal(a.firstName, 'José María');
    t.equal(a.lastName, '\u674e', 'a one-letter CJK name');
    const c = await newCarrier(ctx, { name: ' Bay   State\tDental ' });
    t.equal(c.name, 'Bay State Dental');
    const e = await newEnrollment(ctx, { memberId: a.memberId, carrierId: c.id, planName: ' Dental  Plus 2 ' });
    t.equal(e.planName, 'Dental Plus 2');
    const key = await ctx.request({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { role: 'connector', name: ' IVR   3 ' },
    });
    t.equal(key.statusCode, 201);
    t.equal(key.json().name, 'IVR 3');
  },
);

t.test('a mail payment without slip matches a member whose name has repeated inner spaces', async (t) => {
  // Sent with repeated inner white space: stored tidy, matched whatever spacing and case the check has.
  const sent = await newAccount(ctx, { firstName: 'Mary   Ann', lastName: 'de  la\u00a0Cruz' });
  const e1 = await newEnrollment(ctx, { memberId: sent.memberId, carrierId: carrier.id, coverageStart: '2027-01-01' });
  const p1 = await payOk(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 45000,
    remittance: { memberId: sent.memberId, firstName: 'mary ann', lastName: 'DE LA CRUZ', carrierName: carrier.name },
    ...check(),
  });
  t.equal(p1.status, 'received', 'matched, not unapplied');
  t.equal(p1.enrollmentId, e1.id);

  // A row stored before names were tidied (repeated spaces in the database) still matches.
  const legacy = await newAccount(ctx, { firstName: 'Rui', lastName: 'Costa' });
  await ctx.database.db
    .updateTable('accounts')
    .set({ first_name: 'Rui  Miguel', last_name: ' Costa   Silva ' })
    .where('member_id', '=', legacy.memberId)
    .execute();
  const e2 = await newEnrollment(ctx, {
    memberId: legacy.memberId,
    carrierId: carrier.id,
    coverageStart: '2027-01-01',
  });
  const p2 = await payOk(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 45000,
    remittance: {
      memberId: legacy.memberId,
      firstName: 'Rui Miguel',
      lastName: 'costa silva',
      carrierName: ` ${carrier.name.toUpperCase().replace(/ /g, '  ')} `,
    },
    ...check(),
  });
  t.equal(p2.status, 'received', 'matched, not unapplied');
  t.equal(p2.enrollmentId, e2.id);
  t.equal((await binderOf(ctx, e2)).status, 'paid');
});
