/**
 * Issue 11, item 12: data in logs and headers.
 * - access logs carry the route pattern and query keys, never Member IDs, phone numbers or query values;
 * - a client's X-Request-Id is kept only in a safe format;
 * - /v1 answers are `Cache-Control: no-store`, every answer `nosniff` and a CSP (the docs their own);
 * - a carrier sees other principals in enrollment history by role, never their key ids (R14).
 */
import pino from 'pino';
import t from 'tap';
import { REDACT_PATHS } from '../../src/app.js';
import { testApp } from '../helpers/app.js';
import { getInvoice } from '../helpers/billing.js';
import { type EnrollmentJson, newAccount, newCarrier, newEnrollment } from '../helpers/factories.js';
import { bankAccount, payOk } from '../helpers/payments.js';
import { memoryStream, occurrences } from '../helpers/safety.js';

const log = memoryStream();
const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, log.stream);
const ctx = await testApp(t, { logger });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** What `fn` answers and the log lines written while it ran. */
async function logOf<T>(fn: () => Promise<T>): Promise<{ result: T; text: string }> {
  const before = log.text().length;
  const result = await fn();
  return { result, text: log.text().slice(before) };
}

t.test('access logs carry route patterns and query keys, not Member IDs or phone numbers', async (t) => {
  const account = await newAccount(ctx);
  const phone = account.phoneNumbers[0] ?? '';
  const local = phone.slice(2); // 10 digits without +1
  const { text } = await logOf(async () => {
    for (const url of [
      `/v1/accounts/${account.memberId}`,
      `/v1/accounts?phoneNumber=${encodeURIComponent(phone)}`,
      `/v1/accounts?phoneNumber=${local}`,
      `/v1/enrollments?memberId=${account.memberId}`,
      `/v1/invoices?memberId=${account.memberId}`,
      `/v1/payments?memberId=${account.memberId}`,
      `/v1/notices?memberId=${account.memberId}`,
    ]) {
      const res = await ctx.request({ method: 'GET', url });
      t.equal(res.statusCode, 200, url);
    }
    // Also refused and unrouted requests.
    await ctx.request({ method: 'GET', url: `/v1/accounts/${account.memberId}`, key: null });
    await ctx.request({ method: 'DELETE', url: `/v1/accounts/${account.memberId}` });
    await ctx.request({ method: 'GET', url: `/v1/acounts/${account.memberId}?phoneNumber=${local}` });
    await ctx.request({ method: 'GET', url: `/v1/accounts/${account.memberId}%E0%A4%A?phoneNumber=${local}` });
  });
  t.ok(text.length > 0, 'requests were logged');
  t.equal(occurrences(text, account.memberId), 0, 'no Member ID in the log');
  t.equal(occurrences(text, local), 0, 'no phone number in the log');
  t.match(text, '"url":"/v1/accounts/:memberId"', 'the route pattern is logged');
  t.match(text, /"query":\["phoneNumber"\]/, 'the query keys are logged');
});

t.test("a client's X-Request-Id is kept only when it is safe", async (t) => {
  const safe = 'trace-01H.abc_DEF';
  const kept = await ctx.request({ method: 'GET', url: '/health', key: null, headers: { 'x-request-id': safe } });
  t.equal(kept.headers['x-request-id'], safe, 'a safe id is echoed');
  const odd = [
    'a'.repeat(65),
    'has space',
    'line\nbreak',
    'crlf\r\nX-Injected: 1',
    '"},{"level":60,"msg":"forged"',
    '<script>alert(1)</script>',
    'naïve',
    '../../etc/passwd',
    '',
    // Card numbers in the id's own alphabet (review of issue 14): never echoed nor logged.
    '4111111111111111',
    '4111-1111-1111-1111',
    '4111.1111.1111.1111',
    '4111_1111_1111_1111',
    'req-4111111111111111-x',
  ];
  for (const sent of odd) {
    const { result: answer, text } = await logOf(() =>
      ctx.request({ method: 'GET', url: '/v1/carriers', headers: { 'x-request-id': sent } }),
    );
    t.equal(answer.statusCode, 200);
    t.match(answer.headers['x-request-id'], UUID, `${JSON.stringify(sent.slice(0, 20))} is replaced by a UUID`);
    t.equal(answer.headers['x-injected'], undefined, 'no header injected');
    if (sent.length >= 4) t.equal(occurrences(text, sent), 0, `${JSON.stringify(sent.slice(0, 20))} is not logged`);
    t.notMatch(text, /forged/, 'no forged log line');
  }
});

t.test('responses with account, payment, enrollment and invoice data are no-store and nosniff', async (t) => {
  const connector = await ctx.newKey('connector');
  const e = await newEnrollment(ctx);
  const invoice = await getInvoice(ctx, e.binderInvoiceId);
  const payHundred = () =>
    payOk(
      ctx,
      {
        channel: 'online',
        method: 'checking',
        amountCents: 100,
        invoiceNumber: invoice.invoiceNumber,
        ...bankAccount(),
      },
      { key: connector.secret },
    );
  const payment = await payHundred();
  const urls = [
    `/v1/accounts/${e.memberId}`,
    `/v1/accounts?phoneNumber=%2B16175550000`,
    `/v1/enrollments/${e.id}`,
    `/v1/enrollments?memberId=${e.memberId}`,
    `/v1/invoices/${e.binderInvoiceId}`,
    `/v1/invoices?memberId=${e.memberId}`,
    `/v1/payments/${payment.id}`,
    `/v1/payments?memberId=${e.memberId}`,
    '/v1/events',
    '/v1/payment-channels',
    '/v1/payments/nope',
  ];
  for (const url of urls) {
    const res = await ctx.request({ method: 'GET', url });
    t.ok([200, 404].includes(res.statusCode), `${url} ${res.statusCode}`);
    t.equal(res.headers['cache-control'], 'no-store', `${url}: no-store`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`);
    t.equal(res.headers['content-security-policy'], API_CSP, `${url}: strict CSP`);
  }
  const created = await payHundred();
  t.ok(created.id);
  const post = await ctx.request({
    method: 'POST',
    url: '/v1/payments',
    headers: { 'idempotency-key': 'headers-check-1' },
    payload: {
      channel: 'online',
      method: 'checking',
      amountCents: 100,
      invoiceNumber: invoice.invoiceNumber,
      ...bankAccount(),
    },
  });
  t.equal(post.statusCode, 201);
  t.equal(post.headers['cache-control'], 'no-store', 'a created payment: no-store');
  t.equal(post.headers['x-content-type-options'], 'nosniff');

  // Refusals, unrouted and parser-level answers too.
  for (const [what, res] of [
    ['401', await ctx.request({ method: 'GET', url: `/v1/accounts/${e.memberId}`, key: null })],
    ['404', await ctx.request({ method: 'GET', url: '/v1/nothing' })],
    ['400 broken escape', await ctx.request({ method: 'GET', url: '/v1/enrollments/%E0%A4%A' })],
  ] as const) {
    t.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
    t.equal(res.headers['content-security-policy'], API_CSP, `${what}: strict CSP`);
  }

  // Pollers keep their If-None-Match: an unchanged page is still 304, and the 304 is no-store too.
  const first = await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` });
  const etag = first.headers.etag;
  t.ok(etag, 'an ETag is sent');
  const again = await ctx.request({
    method: 'GET',
    url: `/v1/enrollments/${e.id}`,
    headers: { 'if-none-match': String(etag) },
  });
  t.equal(again.statusCode, 304);
  t.equal(again.headers['cache-control'], 'no-store');
});

t.test('the docs have a content security policy that lets them work', async (t) => {
  for (const url of ['/docs/', '/docs/static/swagger-initializer.js', '/docs/json']) {
    const res = await ctx.request({ method: 'GET', url, key: null });
    t.equal(res.statusCode, 200, url);
    const csp = String(res.headers['content-security-policy'] ?? '');
    t.match(csp, /default-src 'self'/, `${url}: CSP`);
    t.match(csp, /script-src 'self'/, `${url}: scripts from the docs only`);
    t.match(csp, /frame-ancestors 'none'/, `${url}: never framed`);
    t.match(csp, /object-src 'none'/);
    t.notMatch(csp, /upgrade-insecure-requests/, `${url}: works over plain http on a local port`);
    t.equal(res.headers['x-content-type-options'], 'nosniff');
  }
  // Everything the docs page loads is same-origin (what `script-src 'self'` and `style-src 'self'` allow).
  const page = await ctx.request({ method: 'GET', url: '/docs/', key: null });
  const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
  t.ok(refs.length >= 4, `the page loads ${refs.length} resources`);
  for (const ref of refs) {
    t.notMatch(ref, /^(https?:)?\/\//, `${ref} is same-origin`);
    const res = await ctx.request({ method: 'GET', url: new URL(ref, 'http://x/docs/').pathname, key: null });
    t.equal(res.statusCode, 200, `${ref} is served`);
  }
  const health = await ctx.request({ method: 'GET', url: '/health', key: null });
  t.equal(health.headers['content-security-policy'], API_CSP);
  t.equal(health.headers['x-content-type-options'], 'nosniff');
});

t.test('a carrier sees other principals in enrollment history by role, not by key id', async (t) => {
  const carrier = await newCarrier(ctx);
  const carrierKey = await ctx.newKey('carrier', carrier.id);
  const otherCarrierKey = await ctx.newKey('carrier', carrier.id);
  const connector = await ctx.newKey('connector');
  const e: EnrollmentJson = await newEnrollment(ctx, { carrierId: carrier.id });
  const invoice = await getInvoice(ctx, e.binderInvoiceId);
  await payOk(
    ctx,
    {
      channel: 'online',
      method: 'checking',
      amountCents: 45000,
      invoiceNumber: invoice.invoiceNumber,
      ...bankAccount(),
    },
    { key: connector.secret },
  );
  const confirmed = await ctx.request({
    method: 'POST',
    url: `/v1/enrollments/${e.id}/confirmation`,
    key: carrierKey.secret,
    payload: {},
  });
  t.equal(confirmed.statusCode, 200, confirmed.body);

  const opsView = (await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` })).json() as EnrollmentJson;
  const opsKeyId = opsView.history[0]?.actor ?? '';
  t.match(opsKeyId, /^key_/, 'ops sees key ids');
  t.same(
    opsView.history.map((h) => h.actor),
    [opsKeyId, connector.id, carrierKey.id],
    'ops: checkout by ops, payment by the connector, confirmation by the carrier',
  );

  const views = {
    'carrier GET': (
      await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}`, key: carrierKey.secret })
    ).json(),
    'carrier list': (
      await ctx.request({ method: 'GET', url: `/v1/enrollments?carrierId=${carrier.id}`, key: carrierKey.secret })
    ).json().data[0],
    'carrier confirmation answer': confirmed.json(),
  } as Record<string, EnrollmentJson>;
  for (const [what, view] of Object.entries(views)) {
    t.same(
      view.history.map((h) => h.actor),
      ['ops', 'connector', carrierKey.id],
      `${what}: roles for others, its own key id`,
    );
    const text = JSON.stringify(view);
    t.equal(occurrences(text, opsKeyId), 0, `${what}: no ops key id`);
    t.equal(occurrences(text, connector.id), 0, `${what}: no connector key id`);
  }
  const sibling = (
    await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}`, key: otherCarrierKey.secret })
  ).json() as EnrollmentJson;
  t.same(
    sibling.history.map((h) => h.actor),
    ['ops', 'connector', 'carrier'],
    "another key of the same carrier sees the confirmation as 'carrier'",
  );
  const connectorView = (
    await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}`, key: connector.secret })
  ).json() as EnrollmentJson;
  t.same(
    connectorView.history.map((h) => h.actor),
    [opsKeyId, connector.id, carrierKey.id],
    'connector sees key ids',
  );
});
