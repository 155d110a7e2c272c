import t from 'tap';
import { testApp } from '../helpers/app.js';
import { newAccount, newCarrier, newMemberId } from '../helpers/factories.js';
import { PROBLEM } from '../helpers/responses.js';

// R5 (accounts) and the phone lookup of R21, through the HTTP API. One database for the file.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const carrier = await newCarrier(ctx);
const carrierKey = await ctx.newKey('carrier', carrier.id);

const address = { line1: '1 Ashburton Place', city: 'Boston', state: 'MA', postalCode: '02108' };

function accountPayload(overrides: Record<string, unknown> = {}) {
  return {
    memberId: newMemberId(),
    firstName: 'Maria',
    lastName: 'Santos',
    mailingAddress: address,
    phoneNumbers: [],
    paperless: false,
    ...overrides,
  };
}

function createAccount(payload: Record<string, unknown>, key: string = connector.secret) {
  return ctx.request({ method: 'POST', url: '/v1/accounts', payload, key });
}

function findByPhone(phone: string, key: string = connector.secret) {
  return ctx.request({ method: 'GET', url: `/v1/accounts?phoneNumber=${encodeURIComponent(phone)}`, key });
}

t.test('creating an account returns 201 with the named fields, and it can be read back', async (t) => {
  const payload = accountPayload({
    firstName: 'Ana',
    lastName: 'Pereira',
    mailingAddress: { ...address, line2: 'Apt 4' },
    phoneNumbers: ['+16175550100'],
    paperless: true,
  });
  const res = await createAccount(payload);
  t.equal(res.statusCode, 201);
  const account = res.json();
  t.match(account, {
    memberId: payload.memberId,
    firstName: 'Ana',
    lastName: 'Pereira',
    mailingAddress: { ...address, line2: 'Apt 4' },
    phoneNumbers: ['+16175550100'],
    paperless: true,
  });

  const read = await ctx.request({ method: 'GET', url: `/v1/accounts/${payload.memberId}`, key: connector.secret });
  t.equal(read.statusCode, 200);
  t.same(read.json(), account, 'the read shows exactly what the create returned');
});

t.test('paperless defaults to false (mailed invoices)', async (t) => {
  const { paperless: _omit, ...payload } = accountPayload();
  const res = await createAccount(payload);
  t.equal(res.statusCode, 201);
  t.equal(res.json().paperless, false);
});

t.test('ops may create and read accounts too', async (t) => {
  const payload = accountPayload();
  const res = await createAccount(payload, ctx.opsKey);
  t.equal(res.statusCode, 201);
  const read = await ctx.request({ method: 'GET', url: `/v1/accounts/${payload.memberId}`, key: ctx.opsKey });
  t.equal(read.statusCode, 200);
});

t.test('a second account for the same Member ID is 409 member_exists and changes nothing', async (t) => {
  const payload = accountPayload({ firstName: 'First' });
  t.equal((await createAccount(payload)).statusCode, 201);
  const again = await createAccount({ ...payload, firstName: 'Second' });
  t.equal(again.statusCode, 409);
  t.match(again.headers['content-type'], PROBLEM);
  t.match(again.json(), { status: 409, code: 'member_exists' });
  const read = await ctx.request({ method: 'GET', url: `/v1/accounts/${payload.memberId}`, key: connector.secret });
  t.equal(read.json().firstName, 'First', 'the original account is untouched');
});

t.test('two simultaneous creates for one Member ID: one 201, one 409 member_exists (never a 500)', async (t) => {
  const payload = accountPayload();
  const results = await Promise.all([createAccount(payload), createAccount({ ...payload, firstName: 'Twin' })]);
  t.same(results.map((r) => r.statusCode).sort(), [201, 409]);
  t.equal(results.find((r) => r.statusCode === 409)?.json().code, 'member_exists');
});

t.test('a Member ID that is not exactly 12 digits is refused with 400', async (t) => {
  const bad = ['12345678901', '1234567890123', '12345678901a', '1234-5678-90', ' 123456789012', '', 123456789012];
  for (const memberId of bad) {
    const res = await createAccount(accountPayload({ memberId }));
    t.equal(res.statusCode, 400, `memberId ${JSON.stringify(memberId)}`);
    t.match(res.headers['content-type'], PROBLEM);
    t.equal(res.json().code, 'validation_failed');
    t.ok(
      res.json().errors.some((e: { field: string }) => e.field.includes('memberId')),
      'the error names memberId',
    );
  }
});

t.test('a Member ID with leading zeros is 12 digits and valid', async (t) => {
  const memberId = `000${newMemberId().slice(3)}`;
  const res = await createAccount(accountPayload({ memberId }));
  t.equal(res.statusCode, 201);
  t.equal(res.json().memberId, memberId);
});

t.test('the account body is validated: required fields, unknown fields, address shape', async (t) => {
  const base = accountPayload();
  const cases: [string, Record<string, unknown>][] = [
    ['missing firstName', { ...base, firstName: undefined }],
    ['missing lastName', { ...base, lastName: undefined }],
    ['missing mailingAddress', { ...base, mailingAddress: undefined }],
    ['empty firstName', { ...base, firstName: '' }],
    ['unknown top-level field', { ...base, ssn: '000-00-0000' }],
    ['unknown address field', { ...base, mailingAddress: { ...address, country: 'US' } }],
    ['bad postal code', { ...base, mailingAddress: { ...address, postalCode: '2108' } }],
    ['paperless not a boolean', { ...base, paperless: 'yes' }],
    ['phoneNumbers not an array', { ...base, phoneNumbers: '+16175550100' }],
  ];
  for (const [name, payload] of cases) {
    const res = await createAccount(JSON.parse(JSON.stringify(payload)));
    t.equal(res.statusCode, 400, name);
    t.equal(res.json().code, 'validation_failed', name);
  }
});

t.test('phone numbers are normalised to E.164 on the way in', async (t) => {
  const cases: [string, string][] = [
    ['+14135550101', '+14135550101'],
    ['(413) 555-0102', '+14135550102'],
    ['413.555.0103', '+14135550103'],
    ['413-555-0104', '+14135550104'],
    ['4135550105', '+14135550105'],
    ['1-413-555-0106', '+14135550106'],
    ['+1 (413) 555-0107', '+14135550107'],
    ['+44 20 7946 0958', '+442079460958'],
  ];
  for (const [input, e164] of cases) {
    const res = await createAccount(accountPayload({ phoneNumbers: [input] }));
    t.equal(res.statusCode, 201, input);
    t.same(res.json().phoneNumbers, [e164], `${input} -> ${e164}`);
  }
});

t.test('the same number in two formats is stored once', async (t) => {
  const res = await createAccount(accountPayload({ phoneNumbers: ['(413) 555-0111', '+14135550111', '4135550112'] }));
  t.equal(res.statusCode, 201);
  t.same(res.json().phoneNumbers, ['+14135550111', '+14135550112']);
});

t.test('a phone number that cannot be E.164 is refused with 400', async (t) => {
  for (const phone of ['555-0100x', 'call me maybe', '0123456789', '+0123456789', '12345678']) {
    const res = await createAccount(accountPayload({ phoneNumbers: [phone] }));
    t.equal(res.statusCode, 400, phone);
    t.match(res.headers['content-type'], PROBLEM);
  }
});

t.test('GET /v1/accounts?phoneNumber= finds the account whatever the formatting of the query', async (t) => {
  const account = await newAccount(ctx, { phoneNumbers: ['(508) 555-0142'] });
  t.same(account.phoneNumbers, ['+15085550142']);
  for (const query of ['+15085550142', '(508) 555-0142', '508-555-0142', '5085550142', '1 508 555 0142']) {
    const res = await findByPhone(query);
    t.equal(res.statusCode, 200, query);
    const data = res.json().data as { memberId: string; phoneNumbers: string[] }[];
    t.same(
      data.map((a) => a.memberId),
      [account.memberId],
      `${query} finds exactly the one account`,
    );
    t.same(data[0]?.phoneNumbers, ['+15085550142']);
  }
});

t.test('a phone lookup answers every account that has the number (a shared household line)', async (t) => {
  const a = await newAccount(ctx, { phoneNumbers: ['+15085550150', '+15085550151'] });
  const b = await newAccount(ctx, { phoneNumbers: ['+15085550151'] });
  const res = await findByPhone('508 555 0151');
  t.equal(res.statusCode, 200);
  t.same(
    res
      .json()
      .data.map((x: { memberId: string }) => x.memberId)
      .sort(),
    [a.memberId, b.memberId].sort(),
  );
  const one = await findByPhone('+15085550150');
  t.same(
    one.json().data.map((x: { memberId: string }) => x.memberId),
    [a.memberId],
    'the second number of an account finds it too',
  );
});

t.test('an unknown phone number is an empty data list, not a 404', async (t) => {
  const res = await findByPhone('+19785550199');
  t.equal(res.statusCode, 200);
  t.same(res.json(), { data: [] });
});

t.test('a phone lookup without a number, or with a malformed one, is 400', async (t) => {
  const missing = await ctx.request({ method: 'GET', url: '/v1/accounts', key: connector.secret });
  t.equal(missing.statusCode, 400);
  t.match(missing.headers['content-type'], PROBLEM);
  const malformed = await findByPhone('not-a-phone');
  t.equal(malformed.statusCode, 400);
  const extra = await ctx.request({
    method: 'GET',
    url: '/v1/accounts?phoneNumber=%2B15085550142&name=x',
    key: connector.secret,
  });
  t.equal(extra.statusCode, 400, 'unknown query parameters are refused');
});

t.test('GET /v1/accounts/{memberId} for an unknown member is 404 problem+json', async (t) => {
  const res = await ctx.request({ method: 'GET', url: `/v1/accounts/${newMemberId()}`, key: connector.secret });
  t.equal(res.statusCode, 404);
  t.match(res.headers['content-type'], PROBLEM);
  t.match(res.json(), { status: 404, code: 'not_found' });
});

t.test('GET /v1/accounts/{memberId} with a malformed Member ID is 400', async (t) => {
  const res = await ctx.request({ method: 'GET', url: '/v1/accounts/12345', key: connector.secret });
  t.equal(res.statusCode, 400);
  t.equal(res.json().code, 'validation_failed');
});

t.test('a carrier key may not create, read or look up accounts (403)', async (t) => {
  const existing = await newAccount(ctx, { phoneNumbers: ['+15085550160'] });
  const create = await createAccount(accountPayload(), carrierKey.secret);
  t.equal(create.statusCode, 403);
  t.match(create.json(), { status: 403, code: 'forbidden' });
  const read = await ctx.request({ method: 'GET', url: `/v1/accounts/${existing.memberId}`, key: carrierKey.secret });
  t.equal(read.statusCode, 403);
  const lookup = await findByPhone('+15085550160', carrierKey.secret);
  t.equal(lookup.statusCode, 403);
  t.match(lookup.headers['content-type'], PROBLEM);
});

t.test('account endpoints need a valid API key (401)', async (t) => {
  const create = await ctx.request({ method: 'POST', url: '/v1/accounts', payload: accountPayload(), key: null });
  t.equal(create.statusCode, 401);
  const read = await ctx.request({ method: 'GET', url: `/v1/accounts/${newMemberId()}`, key: null });
  t.equal(read.statusCode, 401);
  const lookup = await ctx.request({ method: 'GET', url: '/v1/accounts?phoneNumber=%2B15085550142', key: null });
  t.equal(lookup.statusCode, 401);
});

t.test('names are stored tidied (trimmed, inner white space collapsed, case kept)', async (t) => {
  const res = await createAccount(accountPayload({ firstName: '  Mary   Ann ', lastName: " O'Brien  " }));
  t.equal(res.statusCode, 201);
  t.equal(res.json().firstName, 'Mary Ann');
  t.equal(res.json().lastName, "O'Brien");
});
