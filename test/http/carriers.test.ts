import { sql } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { comparePositions, type FeedPosition } from '../../src/domain/events.js';
import { decodePosition } from '../../src/store/feed.js';
import { type TestContext, testApp } from '../helpers/app.js';
import { type EnrollmentJson, newAccount, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { fetchPayment } from '../helpers/safety.js';

const ROUTING = '011000015';

async function pay(ctx: TestContext, body: Record<string, unknown>, key = crypto.randomUUID()) {
  return ctx.request({ method: 'POST', url: '/v1/payments', payload: body, headers: { 'idempotency-key': key } });
}

async function payBinderInFull(ctx: TestContext, e: EnrollmentJson, receivedAt?: string) {
  const res = await pay(ctx, {
    channel: 'online',
    method: 'checking',
    amountCents: 45000,
    enrollmentId: e.id,
    bankAccount: { routingNumber: ROUTING, accountNumber: '123456789' },
    ...(receivedAt ? { receivedAt } : {}),
  });
  if (res.statusCode !== 201) throw new Error(`payment failed ${res.statusCode} ${res.body}`);
  return res.json();
}

type Seen = { id: string; type: string; data: Record<string, unknown> }[];

/**
 * Follows the feed to its end. The feed holds events back while any older transaction on the
 * PostgreSQL cluster is open (other test files share it), so `until` waits for what must arrive.
 */
async function drainFeed(ctx: TestContext, key: string, after?: string, until?: (seen: Seen) => boolean) {
  const seen: Seen = [];
  let cursor = after;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await ctx.request({
      method: 'GET',
      url: `/v1/events?limit=500${cursor ? `&after=${cursor}` : ''}`,
      key,
    });
    const body = res.json();
    seen.push(...body.data);
    cursor = body.nextCursor;
    if (body.data.length === 0) {
      if (!until || until(seen) || Date.now() > deadline) return { seen, cursor: body.nextCursor as string };
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

t.test('carrier integration', async (t) => {
  const ctx = await testApp(t);
  await setClock(ctx, '2026-12-10T10:00:00-05:00'); // Thursday
  const carrierA = await newCarrier(ctx, { id: 'carrier-a', name: 'Carrier A' });
  const carrierB = await newCarrier(ctx, { id: 'carrier-b', name: 'Carrier B' });
  const keyA = (await ctx.newKey('carrier', carrierA.id)).secret;
  const keyB = (await ctx.newKey('carrier', carrierB.id)).secret;

  t.test('R26: a carrier polls its own work queue and confirms; repeat is harmless; one welcome letter', async (t) => {
    const e = await newEnrollment(ctx, { carrierId: carrierA.id });
    await payBinderInFull(ctx, e);
    const queue = await ctx.request({ method: 'GET', url: '/v1/enrollments?status=awaiting_confirmation', key: keyA });
    t.equal(queue.statusCode, 200);
    t.ok(
      queue.json().data.some((x: EnrollmentJson) => x.id === e.id),
      'own enrollment is in the queue',
    );
    const queueB = await ctx.request({ method: 'GET', url: '/v1/enrollments?status=awaiting_confirmation', key: keyB });
    t.notOk(
      queueB.json().data.some((x: EnrollmentJson) => x.id === e.id),
      "another carrier's queue does not show it",
    );

    const other = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${e.id}/confirmation`,
      key: keyB,
      payload: {},
    });
    t.equal(other.statusCode, 404, "another carrier's enrollment is a 404, not a 403");

    const first = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${e.id}/confirmation`,
      key: keyA,
      // a confirmedAt sent is kept; it is never before paidInFullAt (10:00, SPEC business timestamps)
      payload: { carrierPolicyId: 'POL-1', confirmedAt: '2026-12-10T10:03:00-05:00' },
    });
    t.equal(first.statusCode, 200);
    t.match(first.json(), { status: 'confirmed', carrierPolicyId: 'POL-1', confirmedAt: '2026-12-10T15:03:00.000Z' });
    const history = first.json().history.at(-1);
    t.match(history, { type: 'status_changed', from: 'awaiting_confirmation', to: 'confirmed' });
    const again = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${e.id}/confirmation`,
      key: keyA,
      payload: { carrierPolicyId: 'POL-1' },
    });
    t.equal(again.statusCode, 200);
    t.same(again.json(), first.json(), 'a repeated confirmation returns the same result');
    const letters = await ctx.request({ method: 'GET', url: `/v1/notices?type=welcome_letter&memberId=${e.memberId}` });
    t.equal(letters.json().data.length, 1, 'exactly one welcome letter');
    t.match(letters.json().data[0], {
      type: 'welcome_letter',
      memberId: e.memberId,
      enrollmentId: e.id,
      status: 'queued',
    });
  });

  t.test('R12: confirmation of an unpaid enrollment is 409 not_awaiting_confirmation', async (t) => {
    const e = await newEnrollment(ctx, { carrierId: carrierA.id });
    const res = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${e.id}/confirmation`,
      key: keyA,
      payload: {},
    });
    t.equal(res.statusCode, 409);
    t.equal(res.json().code, 'not_awaiting_confirmation');
    t.equal(res.json().currentState, 'pending_payment');
  });

  t.test(
    'R12: overdue after confirmationExpectedBy, in business days, in the report and on the enrollment',
    async (t) => {
      await setClock(ctx, '2026-12-12T10:00:00-05:00'); // Saturday
      const e = await newEnrollment(ctx, { carrierId: carrierB.id, coverageStart: '2027-01-01' });
      const paid = await payBinderInFull(ctx, e);
      t.equal(paid.status, 'received');
      const fresh = (await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` })).json();
      t.equal(fresh.confirmationExpectedBy, '2026-12-18', 'R4: five business days after Saturday 12-12');
      t.equal(fresh.confirmationOverdue, false);

      await setClock(ctx, '2026-12-18T23:59:00-05:00');
      t.equal((await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` })).json().confirmationOverdue, false);
      await setClock(ctx, '2026-12-22T09:00:00-05:00'); // Tuesday: 12-21 and 12-22 are overdue business days
      const late = (await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` })).json();
      t.equal(late.confirmationOverdue, true);
      const report = await ctx.request({
        method: 'GET',
        url: `/v1/ops/overdue-confirmations?carrierId=${carrierB.id}`,
      });
      t.equal(report.statusCode, 200);
      const row = report.json().data.find((x: EnrollmentJson) => x.id === e.id);
      t.ok(row, 'listed in the overdue report');
      t.equal(row.businessDaysOverdue, 2);
      t.equal(row.confirmationOverdue, true);
      const forbidden = await ctx.request({ method: 'GET', url: '/v1/ops/overdue-confirmations', key: keyB });
      t.equal(forbidden.statusCode, 403);

      await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/confirmation`, key: keyB, payload: {} });
      const after = await ctx.request({ method: 'GET', url: `/v1/ops/overdue-confirmations?carrierId=${carrierB.id}` });
      t.notOk(
        after.json().data.some((x: EnrollmentJson) => x.id === e.id),
        'confirmed enrollments leave the report',
      );
      await setClock(ctx, '2026-12-10T10:00:00-05:00');
    },
  );

  t.test('R27: a carrier sees only enrollment.* and payment.returned events of its own enrollments', async (t) => {
    const { seen } = await drainFeed(ctx, keyA, undefined, (s) => s.some((e) => e.type === 'enrollment.confirmed'));
    t.ok(seen.length > 0);
    for (const ev of seen) {
      t.ok(ev.type.startsWith('enrollment.') || ev.type === 'payment.returned', ev.type);
    }
    const enrollmentIds = new Set(seen.map((ev) => ev.data.enrollmentId));
    const own = await ctx.database.db
      .selectFrom('enrollments')
      .select('id')
      .where('carrier_id', '=', carrierA.id)
      .execute();
    const ownIds = new Set(own.map((r) => r.id));
    for (const id of enrollmentIds) t.ok(ownIds.has(id as string), `event of own enrollment ${id}`);
    const { seen: all } = await drainFeed(ctx, ctx.opsKey, undefined, (s) =>
      s.some((e) => e.type === 'payment.received'),
    );
    t.ok(
      all.some((ev) => ev.type === 'payment.received'),
      'ops sees payment events too',
    );
  });

  t.test('R27: an empty poll returns a cursor at or after the one given; If-None-Match answers 304', async (t) => {
    const { cursor } = await drainFeed(ctx, keyA, undefined, (s) => s.length > 0);
    const res = await ctx.request({ method: 'GET', url: `/v1/events?after=${cursor}`, key: keyA });
    t.same(res.json().data, []);
    const given = decodePosition(cursor) as FeedPosition;
    t.ok(comparePositions(decodePosition(res.json().nextCursor) as FeedPosition, given) >= 0, 'at or after');

    // The cursor of an empty page follows the cluster's oldest open transaction (other test files
    // share it); an open transaction of ours holds it still, so an unchanged page can be seen.
    const dbName = (await sql<{ db: string }>`select current_database() as db`.execute(ctx.database.db)).rows[0]?.db;
    const pin = new pg.Client({ connectionString: `${process.env.TEST_DATABASE_SERVER_URL}/${dbName}` });
    await pin.connect();
    t.teardown(() => pin.end());
    await pin.query('begin');
    await pin.query('select pg_current_xact_id()');
    let status = 0;
    for (let i = 0; i < 50 && status !== 304; i++) {
      const first = await ctx.request({ method: 'GET', url: `/v1/events?after=${cursor}`, key: keyA });
      const etag = first.headers.etag as string;
      t.ok(etag);
      const again = await ctx.request({
        method: 'GET',
        url: `/v1/events?after=${cursor}`,
        key: keyA,
        headers: { 'if-none-match': etag },
      });
      status = again.statusCode;
      if (status !== 304) await new Promise((r) => setTimeout(r, 20));
    }
    t.equal(status, 304, 'an unchanged page answers 304');
    await pin.query('rollback');
    const bad = await ctx.request({ method: 'GET', url: '/v1/events?after=bm90LWEtY3Vyc29y', key: keyA });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'invalid_cursor');
  });

  t.test(
    'R27: the feed orders writer transaction ids as numbers (999 before 1000, at any cluster age), losing none',
    async (t) => {
      // Two settled events whose writer ids straddle a digit boundary, the higher id written first.
      // Sorting the ids as text would put "1000" before "999": the cursor would move past 999 for good.
      const ins = (tx: number, label: string) =>
        sql`insert into events (type, occurred_at, data, tx) values (${`test.order.${label}`}, now(), '{}', ${String(tx)}::xid8)`.execute(
          ctx.database.db,
        );
      // The ids must be below every running transaction's id (the feed shows only settled writers), and
      // a young cluster may not have reached 1000 yet: take the highest power of ten under the current xmin.
      const xmin = Number(
        (
          await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(
            ctx.database.db,
          )
        ).rows[0]?.xmin,
      );
      const high = 10 ** Math.floor(Math.log10(xmin - 1));
      await ins(high, 'high');
      await ins(high - 1, 'low');
      const seen: string[] = [];
      let cursor = '';
      for (let page = 0; page < 5000; page++) {
        const res = await ctx.request({ method: 'GET', url: `/v1/events?limit=1${cursor ? `&after=${cursor}` : ''}` });
        const body = res.json() as { data: { type: string }[]; nextCursor: string };
        if (body.data.length === 0) break;
        seen.push(...body.data.map((e) => e.type));
        cursor = body.nextCursor;
      }
      t.same(
        seen.filter((x) => x.startsWith('test.order.')),
        ['test.order.low', 'test.order.high'],
        'both, in transaction order',
      );
    },
  );

  t.test('R27: an event whose transaction commits late is not skipped (a plain id cursor would skip it)', async (t) => {
    const { cursor: start } = await drainFeed(ctx, ctx.opsKey);
    const dbName = (await sql<{ db: string }>`select current_database() as db`.execute(ctx.database.db)).rows[0]?.db;
    const url = `${process.env.TEST_DATABASE_SERVER_URL}/${dbName}`;
    const slow = new pg.Client({ connectionString: url });
    const fast = new pg.Client({ connectionString: url });
    await slow.connect();
    await fast.connect();
    t.teardown(async () => {
      await slow.end();
      await fast.end();
    });
    const insert = `insert into events (type, occurred_at, data) values ($1, now(), '{}') returning id`;
    await slow.query('begin');
    const slowId = Number((await slow.query(insert, ['test.slow'])).rows[0].id);
    const fastId = Number((await fast.query(insert, ['test.fast'])).rows[0].id);
    t.ok(fastId > slowId, 'the late transaction holds the lower id');

    const during = await drainFeed(ctx, ctx.opsKey, start);
    t.notOk(
      during.seen.some((e) => e.type === 'test.fast'),
      'the committed later event waits while an earlier writer is still open',
    );
    // What a naive `id > last` poller would have done: taken the fast event, moving past the slow one.
    const naive = await ctx.database.db.selectFrom('events').select(['id', 'type']).where('id', '>=', slowId).execute();
    t.same(
      naive.map((r) => r.type),
      ['test.fast'],
      'a plain id cursor would now advance past the uncommitted slow event',
    );

    await slow.query('commit');
    const after = await drainFeed(ctx, ctx.opsKey, during.cursor, (s) => s.some((e) => e.type === 'test.fast'));
    const types = after.seen.map((e) => e.type).filter((x) => x.startsWith('test.'));
    t.same(types, ['test.slow', 'test.fast'], 'both arrive, once each, the slow one included');
  });
});

t.test('R27: 40 concurrent binder payments while a poller follows the feed: each awaiting event once', async (t) => {
  const ctx = await testApp(t);
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const carrier = await newCarrier(ctx);
  const key = (await ctx.newKey('carrier', carrier.id)).secret;
  const enrollments: EnrollmentJson[] = [];
  for (let i = 0; i < 40; i++) {
    const account = await newAccount(ctx);
    enrollments.push(await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrier.id }));
  }
  const { cursor: start } = await drainFeed(ctx, key, undefined, (s) => s.length >= 40);
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const address = ctx.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const seen: string[] = [];
  let cursor = start;
  let done = false;
  const poller = (async () => {
    while (!done) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/events?limit=7&after=${cursor}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const body = (await res.json()) as { data: { id: string; type: string }[]; nextCursor: string };
      for (const ev of body.data) seen.push(`${ev.type}:${ev.id}`);
      cursor = body.nextCursor;
      if (body.data.length === 0) await new Promise((r) => setTimeout(r, 3));
    }
  })();
  const results = await Promise.all(
    enrollments.map((e) =>
      fetchPayment(port, ctx.opsKey, {
        channel: 'online',
        method: 'checking',
        amountCents: 45000,
        enrollmentId: e.id,
        bankAccount: { routingNumber: ROUTING, accountNumber: '123456789' },
      }).then(async (r) => (r.status === 201 ? 201 : `${r.status} ${await r.text()}`)),
    ),
  );
  t.same(
    results.filter((s) => s !== 201),
    [],
    'every payment is created',
  );
  done = true;
  await poller;
  const countAwaiting = (list: string[]) =>
    list.filter((s) => s.startsWith('enrollment.awaiting_confirmation:')).length;
  const rest = await drainFeed(
    ctx,
    key,
    cursor,
    (s) => countAwaiting([...seen, ...s.map((ev) => `${ev.type}:${ev.id}`)]) >= 40,
  );
  for (const ev of rest.seen) seen.push(`${ev.type}:${ev.id}`);

  const awaiting = seen.filter((s) => s.startsWith('enrollment.awaiting_confirmation:'));
  t.equal(awaiting.length, 40, 'every enrollment.awaiting_confirmation event is seen');
  t.equal(new Set(seen).size, seen.length, 'no event is seen twice');
  const inDb = await ctx.database.db
    .selectFrom('events')
    .select('id')
    .where('type', '=', 'enrollment.awaiting_confirmation')
    .where('carrier_id', '=', carrier.id)
    .execute();
  t.same(new Set(awaiting.map((s) => s.split(':')[1])), new Set(inDb.map((r) => String(r.id))));
});
