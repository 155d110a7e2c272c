import t from 'tap';
import { repeatRequest, testApp } from '../helpers/app.js';
import { newCarrier } from '../helpers/factories.js';

const PROBLEM = /^application\/problem\+json/;

t.test('foundation', async (t) => {
  const ctx = await testApp(t);

  t.test('health and readiness answer without a key', async (t) => {
    const health = await ctx.request({ method: 'GET', url: '/health', key: null });
    t.equal(health.statusCode, 200);
    t.same(health.json(), { status: 'ok' });
    const ready = await ctx.request({ method: 'GET', url: '/ready', key: null });
    t.equal(ready.statusCode, 200);
    t.same(ready.json(), { status: 'ready', database: 'ok', migrations: 'current' });
  });

  t.test('metrics are Prometheus text', async (t) => {
    const res = await ctx.request({ method: 'GET', url: '/metrics', key: null });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /text\/plain/);
    t.match(res.body, /http_request_duration_seconds_bucket/);
  });

  t.test('OpenAPI 3.1 document and docs are served', async (t) => {
    const res = await ctx.request({ method: 'GET', url: '/openapi.json', key: null });
    t.equal(res.statusCode, 200);
    const doc = res.json();
    t.equal(doc.openapi, '3.1.0');
    t.ok(doc.paths['/v1/payment-deadlines'].get);
    t.same(doc.paths['/v1/carriers'].post.security, [{ bearerAuth: [] }]);
    t.ok(doc.components.schemas.Problem, 'problem schema is a component');
    const docs = await ctx.request({ method: 'GET', url: '/docs/', key: null });
    t.equal(docs.statusCode, 200);
    t.match(docs.body, /swagger/i);
  });

  t.test("payment deadlines reproduce the seed's 2021 table", async (t) => {
    const res = await ctx.request({ method: 'GET', url: '/v1/payment-deadlines?year=2021' });
    t.equal(res.statusCode, 200);
    const rows = res.json().data;
    t.equal(rows.length, 12);
    t.same(rows[0], { coverageStart: '2021-01-01', paymentDueDate: '2020-12-23' });
    t.same(rows[1], { coverageStart: '2021-02-01', paymentDueDate: '2021-01-23' });
    t.same(rows[11], { coverageStart: '2021-12-01', paymentDueDate: '2021-11-23' });
  });

  t.test('payment deadlines: a bad year is a 400 listing the field', async (t) => {
    for (const q of ['year=abc', 'year=21', '', 'year=2021&extra=1']) {
      const res = await ctx.request({ method: 'GET', url: `/v1/payment-deadlines?${q}` });
      t.equal(res.statusCode, 400, q);
      t.match(res.headers['content-type'], PROBLEM);
      t.equal(res.json().code, 'validation_failed');
      t.ok(res.json().errors.length > 0);
    }
  });

  t.test('payment channels are R19 as data', async (t) => {
    const connector = await ctx.newKey('connector');
    const res = await ctx.request({ method: 'GET', url: '/v1/payment-channels', key: connector.secret });
    t.equal(res.statusCode, 200);
    const byChannel = Object.fromEntries(res.json().data.map((c: { channel: string }) => [c.channel, c]));
    t.same(byChannel.online.accepted, ['checking', 'savings', 'credit_card', 'debit_card']);
    t.same(byChannel.online.notAccepted, ['paypal', 'other_electronic']);
    t.same(byChannel.phone.accepted, ['checking', 'savings']);
    t.same(byChannel.phone.phoneNumbers, { voice: '1-877-623-6765', tty: '1-877-623-7773' });
    t.same(byChannel.mail.accepted, ['check', 'money_order']);
    t.equal(byChannel.mail.payableTo, 'Health Connector');
    t.equal(byChannel.mail.mailTo.line1, 'P.O. BOX 412612');
    t.equal(byChannel.mail.mailTo.postalCode, '02241-2612');
  });

  t.test('carriers: ops creates, anyone reads, duplicates conflict', async (t) => {
    const created = await ctx.request({
      method: 'POST',
      url: '/v1/carriers',
      payload: { id: 'bcbsma', name: '  Blue Cross   Blue Shield of Massachusetts ' },
    });
    t.equal(created.statusCode, 201);
    t.match(created.json(), { id: 'bcbsma', name: 'Blue Cross Blue Shield of Massachusetts' });
    const carrierKey = await ctx.newKey('carrier', 'bcbsma');
    const one = await ctx.request({ method: 'GET', url: '/v1/carriers/bcbsma', key: carrierKey.secret });
    t.equal(one.statusCode, 200);
    t.equal(one.json().id, 'bcbsma');
    const list = await ctx.request({ method: 'GET', url: '/v1/carriers' });
    t.ok(list.json().data.some((c: { id: string }) => c.id === 'bcbsma'));
    const again = await ctx.request({ method: 'POST', url: '/v1/carriers', payload: { id: 'bcbsma', name: 'Other' } });
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, 'carrier_exists');
    const sameName = await ctx.request({
      method: 'POST',
      url: '/v1/carriers',
      payload: { id: 'bcbs2', name: 'blue cross blue shield OF massachusetts' },
    });
    t.equal(sameName.statusCode, 409, 'names compare without case and repeated spaces');
    const missing = await ctx.request({ method: 'GET', url: '/v1/carriers/nope' });
    t.equal(missing.statusCode, 404);
    t.match(missing.headers['content-type'], PROBLEM);
    const asCarrier = await ctx.request({
      method: 'POST',
      url: '/v1/carriers',
      key: carrierKey.secret,
      payload: { id: 'x1', name: 'X' },
    });
    t.equal(asCarrier.statusCode, 403);
    t.equal(asCarrier.json().code, 'forbidden');
  });

  t.test('validation never coerces and rejects unknown fields', async (t) => {
    const cases = [
      { id: 'abc', name: 12 },
      { id: true, name: 'x' },
      { id: 'abc', name: 'x', extra: 1 },
      { id: 'A B', name: 'x' },
      { name: 'x' },
    ];
    for (const payload of cases) {
      const res = await ctx.request({ method: 'POST', url: '/v1/carriers', payload });
      t.equal(res.statusCode, 400, JSON.stringify(payload));
      t.equal(res.json().code, 'validation_failed');
    }
  });

  t.test('auth: missing, malformed, unknown and revoked keys are 401 problem+json', async (t) => {
    const headers = [undefined, 'Basic abc', 'Bearer short', 'Bearer cpb_unknownunknownunknownunknown'];
    for (const authorization of headers) {
      const res = await ctx.app.inject({
        method: 'GET',
        url: '/v1/carriers',
        headers: authorization ? { authorization } : {},
      });
      t.equal(res.statusCode, 401, String(authorization));
      t.match(res.headers['content-type'], PROBLEM);
      t.equal(res.json().code, 'unauthorized');
      t.equal(res.json().status, 401);
      t.ok(res.headers['www-authenticate']);
    }
  });

  t.test('api keys: created by ops, secret shown once, revoked at once', async (t) => {
    const carrier = await newCarrier(ctx);
    const created = await ctx.request({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { role: 'carrier', carrierId: carrier.id, name: 'carrier feed' },
    });
    t.equal(created.statusCode, 201);
    const key = created.json();
    t.match(key, { role: 'carrier', carrierId: carrier.id, name: 'carrier feed' });
    t.match(key.secret, /^cpb_/);
    const stored = await ctx.database.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', key.id)
      .executeTakeFirstOrThrow();
    t.notOk(JSON.stringify(stored).includes(key.secret), 'the secret is not stored');
    t.equal(stored.secret_hash.length, 32);

    const before = await ctx.request({ method: 'GET', url: '/v1/carriers', key: key.secret });
    t.equal(before.statusCode, 200);
    const revoked = await ctx.request({ method: 'DELETE', url: `/v1/api-keys/${key.id}` });
    t.equal(revoked.statusCode, 200);
    t.ok(revoked.json().revokedAt);
    const after = await ctx.request({ method: 'GET', url: '/v1/carriers', key: key.secret });
    t.equal(after.statusCode, 401, 'revocation takes effect on the next request');
    const unknown = await ctx.request({ method: 'DELETE', url: '/v1/api-keys/key_nope' });
    t.equal(unknown.statusCode, 404);
  });

  t.test('api keys: carrier role needs a known carrier, others none', async (t) => {
    const noCarrier = await ctx.request({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { role: 'carrier', name: 'x' },
    });
    t.equal(noCarrier.statusCode, 400);
    t.equal(noCarrier.json().code, 'carrier_scope_required');
    const withCarrier = await ctx.request({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { role: 'connector', carrierId: 'bcbsma', name: 'x' },
    });
    t.equal(withCarrier.statusCode, 400);
    const unknownCarrier = await ctx.request({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { role: 'carrier', carrierId: 'nope', name: 'x' },
    });
    t.equal(unknownCarrier.statusCode, 422);
    t.equal(unknownCarrier.json().code, 'carrier_not_found');
    const connector = await ctx.newKey('connector');
    const forbidden = await ctx.request({
      method: 'POST',
      url: '/v1/api-keys',
      key: connector.secret,
      payload: { role: 'ops', name: 'escalate' },
    });
    t.equal(forbidden.statusCode, 403);
  });

  t.test('unknown routes are 404 and wrong methods 405, both problem+json', async (t) => {
    const nf = await ctx.request({ method: 'GET', url: '/v1/nothing-here' });
    t.equal(nf.statusCode, 404);
    t.match(nf.headers['content-type'], PROBLEM);
    const na = await ctx.request({ method: 'PATCH', url: '/v1/carriers/bcbsma' });
    t.equal(na.statusCode, 405);
    t.equal(na.headers.allow, 'GET');
    t.equal(na.json().code, 'method_not_allowed');
  });

  t.test('malformed JSON, wrong media type and oversized bodies', async (t) => {
    const postCarrierRaw = (contentType: string, payload: string) =>
      ctx.request({ method: 'POST', url: '/v1/carriers', headers: { 'content-type': contentType }, payload });
    const bad = await postCarrierRaw('application/json', '{"id":');
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'malformed_body');
    const media = await postCarrierRaw('text/csv', 'id,name');
    t.equal(media.statusCode, 415);
    t.equal(media.json().code, 'unsupported_media_type');
    const big = await postCarrierRaw('application/json', JSON.stringify({ id: 'big', name: 'x'.repeat(200_000) }));
    t.equal(big.statusCode, 413);
    t.equal(big.json().code, 'payload_too_large');
  });

  t.test('test clock: ops freezes and resets the service clock', async (t) => {
    const set = await ctx.request({
      method: 'PUT',
      url: '/v1/ops/clock',
      payload: { now: '2026-12-23T12:00:00-05:00' },
    });
    t.equal(set.statusCode, 200);
    t.equal(set.json().now, '2026-12-23T17:00:00.000Z');
    t.equal(ctx.clock.now().toISOString(), '2026-12-23T17:00:00.000Z');
    const connector = await ctx.newKey('connector');
    const forbidden = await ctx.request({ method: 'DELETE', url: '/v1/ops/clock', key: connector.secret });
    t.equal(forbidden.statusCode, 403);
    const reset = await ctx.request({ method: 'DELETE', url: '/v1/ops/clock' });
    t.equal(reset.statusCode, 204);
    t.notOk(ctx.clock.frozen);
  });
});

t.test('test clock answers 404 without ALLOW_TEST_CLOCK', async (t) => {
  const ctx = await testApp(t, { env: { ALLOW_TEST_CLOCK: 'false' } });
  const set = await ctx.request({ method: 'PUT', url: '/v1/ops/clock', payload: { now: '2026-12-23T12:00:00Z' } });
  t.equal(set.statusCode, 404);
  t.match(set.headers['content-type'], PROBLEM);
  const reset = await ctx.request({ method: 'DELETE', url: '/v1/ops/clock' });
  t.equal(reset.statusCode, 404);
});

t.test('repeated failed authentications from one client get 429 with Retry-After', async (t) => {
  const ctx = await testApp(t, { env: { AUTH_FAILURES_PER_MINUTE: '3' } });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await ctx.request({ method: 'GET', url: '/v1/carriers', key: 'cpb_wrongwrongwrongwrongwrong' });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) {
      t.match(res.headers['content-type'], PROBLEM);
      t.equal(res.json().code, 'too_many_failed_authentications');
      t.ok(Number(res.headers['retry-after']) > 0);
    }
  }
  t.same(statuses, [401, 401, 401, 429]);
  const good = await ctx.request({ method: 'GET', url: '/v1/carriers' });
  t.equal(good.statusCode, 200, 'a valid key is never refused by the failure limiter');
});

t.test('a per-key rate limit answers 429 problem+json', async (t) => {
  const ctx = await testApp(t, { env: { RATE_LIMIT_PER_MINUTE: '3' } });
  const other = await ctx.newKey('connector');
  const { statuses, last } = await repeatRequest(ctx, { method: 'GET', url: '/v1/payment-channels' }, 4);
  t.same(statuses, [200, 200, 200, 429]);
  t.match(last.headers['content-type'], PROBLEM);
  t.equal(last.json().code, 'rate_limited');
  t.ok(last.headers['retry-after']);
  const otherKey = await ctx.request({ method: 'GET', url: '/v1/payment-channels', key: other.secret });
  t.equal(otherKey.statusCode, 200, 'each API key has its own budget');
});
