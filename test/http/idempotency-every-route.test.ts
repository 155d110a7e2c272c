import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf } from '../helpers/billing.js';
import { newAccount, newCarrier, newEnrollment, newMemberId, setClock } from '../helpers/factories.js';
import { returnFile } from '../helpers/nacha.js';
import { bankAccount, check, getPayment, payOk } from '../helpers/payments.js';

/** A unique name with no digits: a UUID's digit groups can read as a card number, which the card screen refuses (422). */
const lettersOnly = (id: string) => id.replace(/\d/g, (d) => 'ghijklmnop'.charAt(Number(d)));

/**
 * SPEC Conventions, "Idempotency": every POST that creates or changes something honours the
 * Idempotency-Key the same way. The routes are enumerated from the OpenAPI document, so a new POST
 * without a scenario here fails this test (and one without `config.idempotency` fails to start).
 */
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const JAN_CLOCK = '2026-12-10T10:00:00-05:00';

/** A JSON body, or a text one (a Nacha return file, sent as text/plain). */
type Body = Record<string, unknown> | string | undefined;

interface Prepared {
  url: string;
  body: Body;
  /** Same key, another body: 422 idempotency_key_reused. */
  /** Another valid body; null when the route takes none (then any field is 400 before the key is looked at). */
  other: Body | null;
  /** How many of the things the request makes exist (1 after any number of replays). */
  count(): Promise<number>;
}

interface Refusal {
  url: string;
  body: Body;
  status: 404 | 409 | 422;
  code: string;
  /** Changes the state so that a new attempt would now succeed: the replay must still refuse. */
  cure?: () => Promise<void>;
}

interface Scenario {
  status: number;
  prepare(): Promise<Prepared>;
  /** A business refusal of this route; null when the route has none (say why). */
  refusal: (() => Promise<Refusal>) | { none: string };
  /** What a replay answers when it differs from the first answer. */
  replayOf?: (first: Record<string, unknown>) => Record<string, unknown>;
}

function post(url: string, body: Body, key?: string): Promise<LightMyRequestResponse> {
  return ctx.request({
    method: 'POST',
    url,
    ...(body === undefined ? {} : { payload: body }),
    headers: {
      ...(key ? { 'idempotency-key': key } : {}),
      ...(typeof body === 'string' ? { 'content-type': 'text/plain' } : {}),
    },
  });
}

async function countOf(query: Promise<{ n: number | string | bigint }>): Promise<number> {
  return Number((await query).n);
}

const rows = (table: 'accounts' | 'carriers' | 'api_keys' | 'billing_runs' | 'payments') =>
  ctx.database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
const events = (type: string) =>
  ctx.database.db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('type', '=', type);

const accountBody = (memberId = newMemberId()) => ({
  memberId,
  firstName: 'Maria',
  lastName: 'Santos',
  mailingAddress: { line1: '1 Ashburton Place', city: 'Boston', state: 'MA', postalCode: '02108' },
  phoneNumbers: ['+16175550100'],
});

async function janEnrollment() {
  await setClock(ctx, JAN_CLOCK);
  return newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
}

const onlinePayment = (enrollmentId: string, amountCents = 45000) => ({
  channel: 'online',
  method: 'checking',
  amountCents,
  enrollmentId,
  ...bankAccount(),
});

const unmatchedCheck = () => ({
  channel: 'mail',
  method: 'check',
  amountCents: 45000,
  remittance: { memberId: newMemberId(), firstName: 'No', lastName: 'Body', carrierName: 'Harbor Health Plan' },
  ...check(),
});

const lockboxDeposit = (depositId: string, memberId: string, amountCents: number) => ({
  depositId,
  depositDate: JAN_CLOCK.slice(0, 10),
  items: [
    {
      sequence: 1,
      method: 'check',
      amountCents,
      checkNumber: '1042',
      payableTo: 'Health Connector',
      remittance: { memberId, firstName: 'Maria', lastName: 'Santos', carrierName: 'Harbor Health Plan' },
    },
  ],
  control: { itemCount: 1, totalCents: amountCents },
});

let billingMonths = 0;

/** A bank payment sent in an ACH file (R35); its trace number. */
async function originatedPayment() {
  const e = await janEnrollment();
  const p = await payOk(ctx, onlinePayment(e.id, 1000));
  const file = await post('/v1/ops/ach-files', {});
  if (file.statusCode !== 201) throw new Error(`ACH file: ${file.statusCode} ${file.body}`);
  return { p, trace: String((await getPayment(ctx, p.id)).traceNumber) };
}

const SCENARIOS: Record<string, Scenario> = {
  '/v1/ops/ach-files': {
    status: 201,
    async prepare() {
      const e = await janEnrollment();
      const p = await payOk(ctx, onlinePayment(e.id, 1000));
      return {
        url: '/v1/ops/ach-files',
        body: {},
        other: { effectiveDate: '2026-12-14' },
        count: () =>
          countOf(
            ctx.database.db
              .selectFrom('ach_files')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('id', 'in', (eb) => eb.selectFrom('payments').select('ach_file_id').where('id', '=', p.id))
              .executeTakeFirstOrThrow(),
          ),
      };
    },
    refusal: async () => {
      await post('/v1/ops/ach-files', {}); // sends whatever is pending: nothing is left
      return {
        url: '/v1/ops/ach-files',
        body: {},
        status: 422,
        code: 'nothing_to_originate',
        cure: async () => {
          await payOk(ctx, onlinePayment((await janEnrollment()).id, 1000));
        },
      };
    },
  },
  '/v1/ops/ach-returns': {
    status: 200,
    async prepare() {
      const { p, trace } = await originatedPayment();
      return {
        url: '/v1/ops/ach-returns',
        body: returnFile([{ originalTrace: trace, code: 'R01', amountCents: 1000 }]),
        other: returnFile([{ originalTrace: trace, code: 'R02', amountCents: 1000 }]),
        count: () => countOf(events('payment.returned').where('payment_id', '=', p.id).executeTakeFirstOrThrow()),
      };
    },
    refusal: {
      none: 'unknown trace numbers and returned payments are outcomes listed in the answer; a malformed file is a 400',
    },
  },
  '/v1/accounts': {
    status: 201,
    async prepare() {
      const body = accountBody();
      return {
        url: '/v1/accounts',
        body,
        other: { ...body, firstName: 'Mario' },
        count: () => countOf(rows('accounts').where('member_id', '=', body.memberId).executeTakeFirstOrThrow()),
      };
    },
    refusal: async () => {
      const existing = await newAccount(ctx);
      return { url: '/v1/accounts', body: accountBody(existing.memberId), status: 409, code: 'member_exists' };
    },
  },
  '/v1/carriers': {
    status: 201,
    async prepare() {
      const id = `c-${randomUUID().slice(0, 8)}`;
      return {
        url: '/v1/carriers',
        body: { id, name: `Carrier ${id}` },
        other: { id, name: `Other ${id}` },
        count: () => countOf(rows('carriers').where('id', '=', id).executeTakeFirstOrThrow()),
      };
    },
    refusal: async () => ({
      url: '/v1/carriers',
      body: { id: carrier.id, name: `Again ${lettersOnly(randomUUID())}` },
      status: 409,
      code: 'carrier_exists',
    }),
  },
  '/v1/api-keys': {
    status: 201,
    async prepare() {
      const name = `portal ${lettersOnly(randomUUID())}`;
      return {
        url: '/v1/api-keys',
        body: { role: 'connector', name },
        other: { role: 'ops', name },
        count: () => countOf(rows('api_keys').where('name', '=', name).executeTakeFirstOrThrow()),
      };
    },
    replayOf: (first) => ({ ...first, secret: null }),
    refusal: async () => {
      const id = `later-${randomUUID().slice(0, 8)}`;
      return {
        url: '/v1/api-keys',
        body: { role: 'carrier', carrierId: id, name: 'not yet' },
        status: 422,
        code: 'carrier_not_found',
        cure: async () => void (await newCarrier(ctx, { id })),
      };
    },
  },
  '/v1/enrollments': {
    status: 201,
    async prepare() {
      await setClock(ctx, JAN_CLOCK);
      const account = await newAccount(ctx);
      const body = {
        memberId: account.memberId,
        carrierId: carrier.id,
        coverageType: 'health',
        planName: 'ConnectorCare Plan Type II',
        monthlyPremiumCents: 45000,
        coverageStart: '2027-01-01',
      };
      return {
        url: '/v1/enrollments',
        body,
        other: { ...body, monthlyPremiumCents: 45001 },
        count: async () => {
          const enrollments = await countOf(
            ctx.database.db
              .selectFrom('enrollments')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('member_id', '=', account.memberId)
              .executeTakeFirstOrThrow(),
          );
          const invoices = await countOf(
            ctx.database.db
              .selectFrom('invoices')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('member_id', '=', account.memberId)
              .executeTakeFirstOrThrow(),
          );
          return enrollments === invoices ? enrollments : -1;
        },
      };
    },
    refusal: async () => {
      await setClock(ctx, JAN_CLOCK);
      const memberId = newMemberId();
      return {
        url: '/v1/enrollments',
        body: {
          memberId,
          carrierId: carrier.id,
          coverageType: 'dental',
          planName: 'Dental',
          monthlyPremiumCents: 3000,
        },
        status: 422,
        code: 'account_not_found',
        cure: async () => void (await newAccount(ctx, { memberId })),
      };
    },
  },
  '/v1/enrollments/{id}/cancellation': {
    status: 200,
    async prepare() {
      const e = await janEnrollment();
      return {
        url: `/v1/enrollments/${e.id}/cancellation`,
        body: { reason: 'changed my mind' },
        other: { reason: 'found another plan' },
        count: () =>
          countOf(events('enrollment.cancelled').where('enrollment_id', '=', e.id).executeTakeFirstOrThrow()),
      };
    },
    refusal: async () => ({
      url: '/v1/enrollments/enr_unknown/cancellation',
      body: {},
      status: 404,
      code: 'not_found',
    }),
  },
  '/v1/enrollments/{id}/reinstatement': {
    status: 200,
    async prepare() {
      const e = await janEnrollment();
      await payOk(ctx, onlinePayment(e.id));
      // Terminated for non-payment today, coverage through January (its binder month): nothing to pay.
      await ctx.database.db
        .updateTable('enrollments')
        .set({
          status: 'terminated',
          termination_reason: 'non_payment',
          terminated_at: new Date(JAN_CLOCK),
          terminated_on: '2026-12-10',
          coverage_end: '2027-01-31',
          status_before_termination: 'awaiting_confirmation',
        })
        .where('id', '=', e.id)
        .execute();
      return {
        url: `/v1/enrollments/${e.id}/reinstatement`,
        body: undefined,
        other: null,
        count: () =>
          countOf(events('enrollment.reinstated').where('enrollment_id', '=', e.id).executeTakeFirstOrThrow()),
      };
    },
    refusal: async () => {
      const e = await janEnrollment();
      return {
        url: `/v1/enrollments/${e.id}/reinstatement`,
        body: undefined,
        status: 409,
        code: 'not_reinstatable',
      };
    },
  },
  '/v1/enrollments/{id}/confirmation': {
    status: 200,
    async prepare() {
      const e = await janEnrollment();
      await payOk(ctx, onlinePayment(e.id));
      return {
        url: `/v1/enrollments/${e.id}/confirmation`,
        body: { carrierPolicyId: 'POL-1' },
        other: { carrierPolicyId: 'POL-2' },
        count: () =>
          countOf(
            ctx.database.db
              .selectFrom('notices')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('enrollment_id', '=', e.id)
              .executeTakeFirstOrThrow(),
          ),
      };
    },
    refusal: async () => {
      const e = await janEnrollment();
      return {
        url: `/v1/enrollments/${e.id}/confirmation`,
        body: {},
        status: 409,
        code: 'not_awaiting_confirmation',
        cure: async () => void (await payOk(ctx, onlinePayment(e.id))),
      };
    },
  },
  '/v1/billing-runs': {
    status: 201,
    async prepare() {
      billingMonths++;
      const month = `${2030 + billingMonths}-01-01`;
      return {
        url: '/v1/billing-runs',
        body: { coverageMonth: month },
        other: { coverageMonth: '2029-12-01' },
        count: () => countOf(rows('billing_runs').where('coverage_month', '=', month).executeTakeFirstOrThrow()),
      };
    },
    refusal: { none: 'a billing run has no business refusal (a bad month is a 400)' },
  },
  '/v1/ops/deadline-sweeps': {
    status: 200,
    async prepare() {
      // a checkout whose January due date passes: the sweep records one move, once
      const e = await janEnrollment();
      await setClock(ctx, '2026-12-28T10:00:00-05:00');
      return {
        url: '/v1/ops/deadline-sweeps',
        body: undefined,
        other: null,
        count: () =>
          countOf(
            ctx.database.db
              .selectFrom('enrollment_history')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('enrollment_id', '=', e.id)
              .where('type', '=', 'coverage_start_moved')
              .executeTakeFirstOrThrow(),
          ),
      };
    },
    refusal: { none: 'a sweep has no business refusal' },
  },
  '/v1/payments': {
    status: 201,
    async prepare() {
      const e = await janEnrollment();
      const body = onlinePayment(e.id, 1000);
      return {
        url: '/v1/payments',
        body,
        other: { ...body, amountCents: 1001 },
        count: () => countOf(rows('payments').where('enrollment_id', '=', e.id).executeTakeFirstOrThrow()),
      };
    },
    refusal: async () => ({
      url: '/v1/payments',
      body: { channel: 'online', method: 'checking', amountCents: 100, invoiceNumber: '99999999', ...bankAccount() },
      status: 422,
      code: 'target_not_found',
    }),
  },
  '/v1/payments/{id}/returns': {
    status: 201,
    async prepare() {
      const e = await janEnrollment();
      const p = await payOk(ctx, onlinePayment(e.id, 1000));
      return {
        url: `/v1/payments/${p.id}/returns`,
        body: { reasonCode: 'R01' },
        other: { reasonCode: 'R02' },
        count: () => countOf(events('payment.returned').where('payment_id', '=', p.id).executeTakeFirstOrThrow()),
      };
    },
    refusal: async () => ({
      url: '/v1/payments/pay_unknown/returns',
      body: { reasonCode: 'R01' },
      status: 404,
      code: 'not_found',
    }),
  },
  '/v1/ops/lockbox-deposits': {
    status: 201,
    async prepare() {
      const e = await janEnrollment();
      const depositId = `LBX-${randomUUID()}`;
      const body = lockboxDeposit(depositId, e.memberId, 45000);
      return {
        url: '/v1/ops/lockbox-deposits',
        body,
        other: lockboxDeposit(depositId, e.memberId, 40000),
        count: () =>
          countOf(
            rows('payments')
              .where(sql<string>`target->'lockbox'->>'depositId'`, '=', depositId)
              .executeTakeFirstOrThrow(),
          ),
      };
    },
    refusal: async () => {
      const e = await janEnrollment();
      const body = lockboxDeposit(`LBX-${randomUUID()}`, e.memberId, 45000);
      return {
        url: '/v1/ops/lockbox-deposits',
        body: { ...body, control: { itemCount: 1, totalCents: 1 } },
        status: 422,
        code: 'control_total_mismatch',
      };
    },
  },
  '/v1/ops/unapplied-payments/{id}/application': {
    status: 200,
    async prepare() {
      const e = await janEnrollment();
      const p = await payOk(ctx, unmatchedCheck());
      const binder = await binderOf(ctx, e);
      return {
        url: `/v1/ops/unapplied-payments/${p.id}/application`,
        body: { enrollmentId: e.id },
        other: { invoiceNumber: binder.invoiceNumber },
        count: () => countOf(events('payment.received').where('payment_id', '=', p.id).executeTakeFirstOrThrow()),
      };
    },
    refusal: async () => {
      const e = await janEnrollment();
      const applied = await payOk(ctx, onlinePayment(e.id, 100));
      return {
        url: `/v1/ops/unapplied-payments/${applied.id}/application`,
        body: { enrollmentId: e.id },
        status: 409,
        code: 'not_unapplied',
      };
    },
  },
};

const doc = (await ctx.request({ method: 'GET', url: '/openapi.json', key: null })).json() as {
  paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>;
};
const postRoutes = Object.entries(doc.paths)
  .filter(([path, ops]) => path.startsWith('/v1') && ops.post)
  .map(([path, ops]) => ({ path, op: ops.post as { parameters?: { in: string; name: string }[] } }));

t.ok(postRoutes.length >= 11, `found ${postRoutes.length} POST routes`);

const strip = (body: Record<string, unknown>) => {
  const { requestId: _r, ...rest } = body;
  return rest;
};

for (const { path, op } of postRoutes) {
  t.test(`POST ${path} honours the Idempotency-Key`, async (t) => {
    const scenario = SCENARIOS[path];
    if (!scenario) {
      t.fail(`no idempotency scenario for POST ${path}: add one to this table`);
      return;
    }
    t.ok(
      op.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
      'the header is documented in the OpenAPI document',
    );

    const prepared = await scenario.prepare();
    const key = randomUUID();
    const first = await post(prepared.url, prepared.body, key);
    t.equal(first.statusCode, scenario.status, `first: ${first.body}`);
    t.notOk(first.headers['idempotent-replayed'], 'the first answer is not a replay');
    const second = await post(prepared.url, prepared.body, key);
    t.equal(second.statusCode, scenario.status, 'the replay has the original status');
    t.equal(second.headers['idempotent-replayed'], 'true', 'Idempotent-Replayed: true');
    const firstBody = first.json() as Record<string, unknown>;
    t.strictSame(second.json(), scenario.replayOf ? scenario.replayOf(firstBody) : firstBody, 'the original body');
    t.equal(await prepared.count(), 1, 'one resource');

    const reused = await post(prepared.url, prepared.other ?? { extra: true }, key);
    t.equal(reused.statusCode, prepared.other ? 422 : 400, 'another body with the same key');
    t.equal(reused.json().code, prepared.other ? 'idempotency_key_reused' : 'validation_failed');
    t.equal(await prepared.count(), 1, 'still one resource');

    if ('none' in scenario.refusal) {
      t.pass(`no business refusal: ${scenario.refusal.none}`);
    } else {
      const refusal = await scenario.refusal();
      const refusalKey = randomUUID();
      const refused = await post(refusal.url, refusal.body, refusalKey);
      t.equal(refused.statusCode, refusal.status, `refused: ${refused.body}`);
      t.equal(refused.json().code, refusal.code);
      await refusal.cure?.();
      const again = await post(refusal.url, refusal.body, refusalKey);
      t.equal(again.statusCode, refusal.status, 'the refusal is replayed, not retried');
      t.equal(again.headers['idempotent-replayed'], 'true');
      t.match(String(again.headers['content-type']), /^application\/problem\+json/);
      t.strictSame(strip(again.json()), strip(refused.json()), 'the same problem');
    }

    const racing = await scenario.prepare();
    const raceKey = randomUUID();
    const answers = await Promise.all([1, 2, 3].map(() => post(racing.url, racing.body, raceKey)));
    const fresh = answers.filter((r) => r.statusCode === scenario.status && !r.headers['idempotent-replayed']);
    t.equal(fresh.length, 1, 'one request did the work');
    for (const r of answers) {
      if (r.statusCode !== scenario.status) {
        t.equal(r.statusCode, 409, 'the others replay or are 409');
        t.equal(r.json().code, 'idempotency_key_in_flight');
      }
    }
    t.equal(await racing.count(), 1, 'concurrent identical requests make one resource');
  });
}

t.test('a request that never ran (400) is not remembered; without a key each request is its own', async (t) => {
  const body = accountBody();
  const key = randomUUID();
  const bad = await post('/v1/accounts', { ...body, paperless: 'yes' }, key);
  t.equal(bad.statusCode, 400);
  const good = await post('/v1/accounts', body, key);
  t.equal(good.statusCode, 201, 'the key was free for the corrected request');
  t.notOk(good.headers['idempotent-replayed']);
  const noKey = await post('/v1/accounts', body);
  t.equal(noKey.statusCode, 409, 'without a key a retry is a new request');
});

t.test('the 48-hour purge forgets the records of every route', async (t) => {
  const { IdempotencyService } = await import('../../src/services/idempotency.js');
  const { Stores } = await import('../../src/store/stores.js');
  const before = await countOf(
    ctx.database.db
      .selectFrom('idempotency_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  );
  t.ok(before > 11, `records of every route exist (${before})`);
  await setClock(ctx, '2027-12-01T00:00:00-05:00');
  const purged = await new IdempotencyService(new Stores(ctx.database.db), ctx.clock, Buffer.alloc(32)).purgeExpired();
  t.equal(purged, before, 'all of them are purged once older than 48 hours');
  const paymentCount = (await ctx.database.db.selectFrom('payments').select('id').execute()).length;
  t.ok(paymentCount > 0, 'the work they protected stays');
});
