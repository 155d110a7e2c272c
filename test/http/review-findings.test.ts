import t from 'tap';
import { testApp } from '../helpers/app.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { expectProblem } from '../helpers/responses.js';

// Defects an independent black-box review found after the issue-11 hardening (docs/reliability.md):
// each was a 500, a missed refusal or a refused valid key.
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Review Health' });

t.test(
  'I5: a NUL or other control character in the path, the query or the body is 400 invalid_character, never a 500',
  async (t) => {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
    const cases: [string, Parameters<typeof ctx.request>[0]][] = [
      ['path', { method: 'GET', url: '/v1/enrollments/x%00' }],
      ['path of a POST', { method: 'POST', url: '/v1/enrollments/x%00/cancellation', payload: {} }],
      ['query', { method: 'GET', url: '/v1/enrollments?carrierId=x%00' }],
      ['body value', { method: 'POST', url: '/v1/carriers', payload: { id: 'nul-carrier', name: 'a\u0000b' } }],
      [
        'nested body value',
        { method: 'POST', url: `/v1/enrollments/${e.id}/cancellation`, payload: { reason: 'x\u0000' } },
      ],
      ['body key', { method: 'POST', url: '/v1/carriers', payload: { id: 'nul-key', name: 'Fine', 'x\u0000': 1 } }],
      [
        'a card number separated by U+0001',
        {
          method: 'POST',
          url: '/v1/carriers',
          payload: { id: 'ctl-card', name: '4111\u00011111\u00011111\u00011111' },
        },
      ],
      [
        'escape character in a name',
        { method: 'POST', url: '/v1/carriers', payload: { id: 'ctl-esc', name: 'A\u001bB' } },
      ],
    ];
    for (const [label, req] of cases) {
      expectProblem(t, await ctx.request(req), 400, 'invalid_character', label);
    }
    const after = await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` });
    t.equal(after.json().status, 'pending_payment', 'the cancellation with a NUL changed nothing');
    t.equal((await ctx.request({ method: 'GET', url: '/v1/carriers/ctl-card' })).statusCode, 404, 'nothing stored');
    const tabbed = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${e.id}/cancellation`,
      payload: { reason: 'moved\tout of state\r\nby mail' },
    });
    t.equal(tabbed.statusCode, 200, 'tabs and line breaks are still text');
  },
);

t.test('I5: a lone UTF-16 surrogate in any text is 400 invalid_character, never a 500', async (t) => {
  // Issue-16 black-box run (second round): "r\ud800" is grammatical JSON, but PostgreSQL's jsonb
  // refuses the escape: a cancellation reason, a carrier with an Idempotency-Key, remittance names
  // answered 500 (or 201 on one instance and 500 on the other).
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const cases: [string, Parameters<typeof ctx.request>[0]][] = [
    [
      'a cancellation reason',
      { method: 'POST', url: `/v1/enrollments/${e.id}/cancellation`, payload: { reason: 'r\ud800' } },
    ],
    [
      'a carrier name, with an Idempotency-Key',
      {
        method: 'POST',
        url: '/v1/carriers',
        headers: { 'idempotency-key': '3b0c7a58-94a5-4a36-9e6f-3f0c3a2f1d11' },
        payload: { id: 'surrogate-1', name: 'High \ud83d alone' },
      },
    ],
    [
      'a low surrogate alone',
      { method: 'POST', url: '/v1/carriers', payload: { id: 'surrogate-2', name: 'x\udc00y' } },
    ],
    ['a key', { method: 'POST', url: '/v1/carriers', payload: { id: 'surrogate-3', name: 'Fine', 'k\ud800': 1 } }],
    [
      'remittance names of a mail payment',
      {
        method: 'POST',
        url: '/v1/payments',
        headers: { 'idempotency-key': '9a4e1f0e-5b7c-4c1d-8f55-2b1e0e7a6c21' },
        payload: {
          channel: 'mail',
          method: 'check',
          amountCents: 100,
          check: { checkNumber: '1001', payableTo: 'Health Connector' },
          remittance: { firstName: 'A\ud800', lastName: 'B' },
        },
      },
    ],
  ];
  for (const [label, req] of cases) expectProblem(t, await ctx.request(req), 400, 'invalid_character', label);
  t.equal((await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` })).json().status, 'pending_payment');
  const paired = await ctx.request({
    method: 'POST',
    url: '/v1/carriers',
    payload: { id: 'surrogate-ok', name: 'Emoji \ud83d\ude00 pair' },
  });
  t.equal(paired.statusCode, 201, 'a surrogate pair is a character like any other');
  // Third round: the same code point as raw bytes, and other bytes that are not UTF-8, were decoded to
  // U+FFFD and accepted (an address stored as "1\ufffd\ufffd\ufffd", a remittance name that no longer
  // matched).
  for (const [label, bad] of [
    ['a raw surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['an overlong NUL (C0 80)', [0xc0, 0x80]],
    ['a byte that is never UTF-8 (FF)', [0xff]],
    ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
  ] as const) {
    const body = Buffer.concat([Buffer.from('{"id":"bytes-carrier","name":"A'), Buffer.from(bad), Buffer.from('"}')]);
    const res = await ctx.request({
      method: 'POST',
      url: '/v1/carriers',
      payload: body,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(t, res, 400, 'invalid_character', label);
  }
  t.equal((await ctx.request({ method: 'GET', url: '/v1/carriers/bytes-carrier' })).statusCode, 404, 'nothing stored');
  const utf8 = await ctx.request({
    method: 'POST',
    url: '/v1/carriers',
    payload: Buffer.from(
      '{"id":"bytes-ok","name":"Caf\u00e9 \u00e9t\u00e9 \u4e2d\u6587"}'.replace(/\\u([0-9a-f]{4})/g, (_, h) =>
        String.fromCharCode(Number.parseInt(h, 16)),
      ),
      'utf8',
    ),
    headers: { 'content-type': 'application/json' },
  });
  t.equal(utf8.statusCode, 201, 'UTF-8 text is text');
});

t.test('I5: dates outside the years 1000-2999 are 400, not a 500 or a hang', async (t) => {
  expectProblem(
    t,
    await ctx.request({ method: 'POST', url: '/v1/billing-runs', payload: { coverageMonth: '0099-01-01' } }),
    400,
    'validation_failed',
    'a billing run for year 99',
  );
  expectProblem(
    t,
    await ctx.request({
      method: 'POST',
      url: '/v1/enrollments',
      payload: {
        memberId: '100000000001',
        carrierId: carrier.id,
        coverageType: 'health',
        planName: 'Gold',
        monthlyPremiumCents: 100,
        coverageStart: '0001-01-01',
      },
    }),
    400,
    'validation_failed',
    'a coverage start in year 1',
  );
  expectProblem(
    t,
    await ctx.request({ method: 'PUT', url: '/v1/ops/clock', payload: { now: '9999-12-24T12:00:00Z' } }),
    400,
    'validation_failed',
    'the test clock in year 9999',
  );
  t.equal((await ctx.request({ method: 'GET', url: '/health' })).statusCode, 200, 'still answering');
});

t.test('Card data: a card number hidden by a repeated JSON member name is still refused', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const raw = (url: string, payload: string) =>
    ctx.request({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
  expectProblem(
    t,
    await raw('/v1/carriers', '{"id":"dupk1","name":"4111 1111 1111 1111","name":"Good Carrier"}'),
    422,
    'card_number_not_allowed',
    'carrier name',
  );
  expectProblem(
    t,
    await raw(`/v1/enrollments/${e.id}/cancellation`, '{"reason":"4111111111111111","\\u0072eason":"ok"}'),
    422,
    'card_number_not_allowed',
    'cancellation reason (the repeated name escaped)',
  );
  expectProblem(
    t,
    await raw('/v1/carriers', '{"id":"dupk2","name":"A","name":"B"}'),
    400,
    'duplicate_json_key',
    'a repeated name without a card number',
  );
  t.equal((await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` })).json().status, 'pending_payment');
  t.equal((await ctx.request({ method: 'GET', url: '/v1/carriers/dupk1' })).statusCode, 404, 'nothing stored');
  // Issue-16 black-box run: a `__proto__` member was answered "not valid JSON"; it is valid JSON,
  // refused for what it is (prototype poisoning), at any depth.
  for (const body of [
    '{"id":"proto1","name":"A","__proto__":{"admin":true}}',
    '{"id":"proto2","name":"A","x":{"constructor":{"prototype":{"admin":true}}}}',
  ]) {
    const res = await raw('/v1/carriers', body);
    expectProblem(t, res, 400, 'forbidden_json_key', body);
    t.match(res.json().detail, /__proto__/);
  }
});

t.test('Auth: the Bearer scheme name is case-insensitive, so a valid key is not counted as a failure', async (t) => {
  for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/v1/carriers',
      headers: { authorization: `${scheme} ${ctx.opsKey}` },
    });
    t.equal(res.statusCode, 200, scheme);
  }
});
