import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ApiKeyStore } from '../../src/store/apiKeys.js';
import { type TestContext, testApp } from '../helpers/app.js';
import { setClock } from '../helpers/factories.js';

// Issue 16: the carrier's work-queue page (and every other enrollment read) must answer the same
// bytes for the same data whatever the read path does inside. A varied, fixed set of enrollments
// (awaiting confirmation, overdue, delinquent with and without a recorded episode, terminated and
// projected terminated, a missed binder deadline, cancelled, with subsidy, several invoices, some
// paid, names that JSON must escape, timestamps with microseconds) is seeded with fixed ids, and
// each answer is compared byte for byte with test/fixtures/work-queue-page.json, written by the code
// before the work-queue read was rewritten. `WORK_QUEUE_FIXTURE=write` rewrites the fixture (only
// ever from code whose answers are known to be right).

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/work-queue-page.json');
const WRITE = process.env.WORK_QUEUE_FIXTURE === 'write';

const CARRIER = 'carrier-snap';
const OTHER = 'carrier-other';
const CARRIER_KEY = 'key_5eed000000000000ca01';
const CONNECTOR_KEY = 'key_5eed000000000000c0e1';
const CARRIER_SECRET = `carrier-secret-${'a'.repeat(40)}`;
const CONNECTOR_SECRET = `connector-secret-${'b'.repeat(40)}`;

const enr = (n: number) => `enr_fa${String(n).padStart(2, '0')}c0de${'ab'.repeat(12)}`;
const inv = (n: number, m: number) =>
  `inv_fa${String(n).padStart(2, '0')}be${String(m).padStart(2, '0')}${'cd'.repeat(11)}`;
const member = (n: number) => `2000000000${String(n).padStart(2, '0')}`;

interface Seed {
  n: number;
  carrier?: string;
  first: string;
  last: string;
  plan: string;
  type?: 'health' | 'dental';
  premium?: number;
  status: string;
  chosenStart: string;
  start: string;
  selectedAt: string;
  paidAt?: string;
  expectedBy?: string;
  idCardBy?: string;
  confirmedAt?: string;
  policy?: string;
  cancelledAt?: string;
  credit?: number;
  flags?: string[];
  createdAt: string;
  subsidy?: string;
  termination?: { end: string; reason: string; at: string; on: string; before: string };
  recorded?: { anchor: string; stage: string };
  /** [coverage month, due date, amount paid, binder, voided at] */
  invoices: [string, string, number, boolean, string?][];
  history: [string, string, string | null, string, string | null, string][];
}

const P = 45000;
const SEEDS: Seed[] = [
  {
    n: 1,
    first: 'Ana',
    last: 'Lima',
    plan: 'ConnectorCare Plan Type II',
    status: 'awaiting_confirmation',
    chosenStart: '2026-04-01',
    start: '2026-04-01',
    selectedAt: '2026-03-02 14:05:06.123456+00',
    paidAt: '2026-03-05 16:00:00.000001+00',
    expectedBy: '2026-03-19',
    createdAt: '2026-03-02 14:05:07.999999+00',
    invoices: [['2026-04-01', '2026-03-23', P, true]],
    history: [
      ['2026-03-02 14:05:07.999999+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY],
      ['2026-03-05 16:00:00.000001+00', 'status_changed', 'pending_payment', 'awaiting_confirmation', null, 'system'],
    ],
  },
  {
    n: 2,
    first: 'Zoë',
    last: `O'Brien "Jr" \\ Ñ`,
    plan: 'Dental\tPlus\nFamily',
    type: 'dental',
    premium: 3125,
    status: 'awaiting_confirmation',
    chosenStart: '2026-02-01',
    start: '2026-02-01',
    selectedAt: '2026-01-10 09:00:00.5+00',
    paidAt: '2026-01-20 13:45:00.129999+00',
    expectedBy: '2026-02-03',
    createdAt: '2026-01-10 09:00:00.5+00',
    subsidy: 'aptc',
    invoices: [
      ['2026-02-01', '2026-01-23', 3125, true],
      ['2026-03-01', '2026-02-23', 0, false],
    ],
    history: [
      ['2026-01-10 09:00:00.5+00', 'status_changed', null, 'pending_payment', null, CARRIER_KEY],
      [
        '2026-01-20 13:45:00.129999+00',
        'status_changed',
        'pending_payment',
        'awaiting_confirmation',
        'paid\u0001 "in full"',
        'key_gone000000000000',
      ],
    ],
  },
  {
    n: 3,
    first: 'Bo',
    last: 'Chen',
    plan: 'Gold',
    status: 'awaiting_confirmation',
    chosenStart: '2026-04-01',
    start: '2026-04-01',
    selectedAt: '2026-03-01 00:00:00+00',
    paidAt: '2026-03-06 00:00:00.057+00',
    expectedBy: '2026-03-20',
    idCardBy: '2026-03-30',
    credit: 1250,
    flags: ['payment_returned'],
    createdAt: '2026-03-01 00:00:00+00',
    subsidy: 'connectorcare',
    invoices: [['2026-04-01', '2026-03-23', P, true]],
    history: [['2026-03-01 00:00:00+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY]],
  },
  {
    n: 4,
    first: 'Dee',
    last: 'Ortiz',
    plan: 'Silver',
    status: 'confirmed',
    chosenStart: '2026-01-01',
    start: '2026-01-01',
    selectedAt: '2025-12-01 12:00:00+00',
    paidAt: '2025-12-10 12:00:00+00',
    expectedBy: '2025-12-24',
    confirmedAt: '2025-12-15 08:30:00.25+00',
    policy: 'POL-4',
    createdAt: '2025-12-01 12:00:00+00',
    subsidy: 'aptc',
    recorded: { anchor: '2026-02-01', stage: 'past_due' },
    invoices: [
      ['2026-01-01', '2025-12-23', P, true],
      ['2026-02-01', '2026-01-23', 20000, false],
      ['2026-03-01', '2026-02-23', 0, false],
    ],
    history: [
      ['2025-12-01 12:00:00+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY],
      ['2025-12-10 12:00:00+00', 'status_changed', 'pending_payment', 'awaiting_confirmation', null, 'system'],
      ['2025-12-15 08:30:00.25+00', 'status_changed', 'awaiting_confirmation', 'confirmed', null, CARRIER_KEY],
      ['2026-01-24 05:00:00+00', 'delinquency_changed', null, 'past_due', null, 'system'],
    ],
  },
  {
    n: 5,
    first: 'Eli',
    last: 'Ward',
    plan: 'Bronze',
    status: 'terminated',
    chosenStart: '2025-12-01',
    start: '2025-12-01',
    selectedAt: '2025-11-01 12:00:00+00',
    paidAt: '2025-11-10 12:00:00+00',
    expectedBy: '2025-11-24',
    confirmedAt: '2025-11-12 12:00:00+00',
    policy: 'POL-5',
    credit: 10000,
    createdAt: '2025-11-01 12:00:00+00',
    termination: {
      end: '2026-01-31',
      reason: 'non_payment',
      at: '2026-02-15 05:00:00.000123+00',
      on: '2026-02-15',
      before: 'confirmed',
    },
    invoices: [
      ['2025-12-01', '2025-11-23', P, true],
      ['2026-01-01', '2025-12-23', P, false],
      ['2026-02-01', '2026-01-23', 10000, false, '2026-02-15 05:00:00.000123+00'],
    ],
    history: [
      ['2025-11-01 12:00:00+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY],
      ['2026-02-15 05:00:00.000123+00', 'status_changed', 'confirmed', 'terminated', 'non_payment', 'system'],
    ],
  },
  {
    n: 6,
    first: 'Fay',
    last: 'Ngata',
    plan: 'Bronze',
    status: 'confirmed',
    chosenStart: '2025-11-01',
    start: '2025-11-01',
    selectedAt: '2025-10-01 12:00:00+00',
    paidAt: '2025-10-10 12:00:00+00',
    expectedBy: '2025-10-24',
    confirmedAt: '2025-10-12 12:00:00+00',
    createdAt: '2025-10-01 12:00:00+00',
    invoices: [
      ['2025-11-01', '2025-10-23', P, true],
      ['2025-12-01', '2025-11-23', 0, false],
      ['2026-01-01', '2025-12-23', 0, false],
      ['2026-02-01', '2026-01-23', 0, false],
      ['2026-03-01', '2026-02-23', 0, false],
    ],
    history: [['2025-10-01 12:00:00+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY]],
  },
  {
    n: 7,
    first: 'Gus',
    last: 'Park',
    plan: 'Platinum',
    status: 'pending_payment',
    chosenStart: '2026-02-01',
    start: '2026-02-01',
    selectedAt: '2026-01-05 12:00:00+00',
    createdAt: '2026-01-05 12:00:00+00',
    invoices: [['2026-02-01', '2026-01-23', 10000, true]],
    history: [['2026-01-05 12:00:00+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY]],
  },
  {
    n: 8,
    first: 'Hal',
    last: 'Ito',
    plan: 'Gold',
    status: 'cancelled',
    chosenStart: '2026-04-01',
    start: '2026-04-01',
    selectedAt: '2026-03-01 10:00:00+00',
    paidAt: '2026-03-02 10:00:00+00',
    cancelledAt: '2026-03-03 10:00:00.5+00',
    credit: P,
    createdAt: '2026-03-01 10:00:00+00',
    invoices: [['2026-04-01', '2026-03-23', P, true, '2026-03-03 10:00:00.5+00']],
    history: [
      ['2026-03-01 10:00:00+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY],
      [
        '2026-03-03 10:00:00.5+00',
        'status_changed',
        'awaiting_confirmation',
        'cancelled',
        'member changed plans',
        CONNECTOR_KEY,
      ],
    ],
  },
  {
    n: 9,
    first: 'Ivy',
    last: 'Shah',
    plan: 'Silver',
    status: 'awaiting_confirmation',
    chosenStart: '2025-12-01',
    start: '2025-12-01',
    selectedAt: '2025-11-01 12:00:00+00',
    paidAt: '2025-11-10 12:00:00+00',
    expectedBy: '2025-11-24',
    createdAt: '2025-11-01 12:00:00+00',
    invoices: [
      ['2025-12-01', '2025-11-23', P, true],
      ['2026-01-01', '2025-12-23', 0, false],
      ['2026-02-01', '2026-01-23', 0, false],
      ['2026-03-01', '2026-02-23', 0, false],
    ],
    history: [['2025-11-01 12:00:00+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY]],
  },
  {
    n: 10,
    carrier: OTHER,
    first: 'Jo',
    last: 'Other',
    plan: 'Gold',
    status: 'awaiting_confirmation',
    chosenStart: '2026-04-01',
    start: '2026-04-01',
    selectedAt: '2026-03-01 12:00:00+00',
    paidAt: '2026-03-02 12:00:00+00',
    expectedBy: '2026-03-16',
    createdAt: '2026-03-01 12:00:00+00',
    invoices: [['2026-04-01', '2026-03-23', P, true]],
    history: [['2026-03-01 12:00:00+00', 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY]],
  },
  // No invoice at all (binderInvoiceId null) and no history.
  {
    n: 11,
    first: 'Kit',
    last: 'Bare',
    plan: 'Gold',
    status: 'awaiting_confirmation',
    chosenStart: '2026-04-01',
    start: '2026-04-01',
    selectedAt: '2026-03-04 12:00:00+00',
    paidAt: '2026-03-04 12:30:00+00',
    createdAt: '2026-03-04 12:00:00+00',
    invoices: [],
    history: [],
  },
  ...[12, 13, 14, 15].map(
    (n): Seed => ({
      n,
      first: `Queue${n}`,
      last: 'Member',
      plan: `Plan ${n % 7}`,
      status: 'awaiting_confirmation',
      chosenStart: '2026-04-01',
      start: '2026-04-01',
      selectedAt: `2026-03-0${n - 8} 12:00:00.${n}0${n}+00`,
      paidAt: `2026-03-0${n - 7} 12:00:00+00`,
      expectedBy: `2026-03-${n + 4}`,
      createdAt: `2026-03-0${n - 8} 12:00:00.${n}0${n}+00`,
      subsidy: n % 2 ? 'aptc' : 'none',
      invoices: [
        ['2026-04-01', '2026-03-23', P, true],
        ['2026-05-01', '2026-04-23', n === 13 ? 5000 : 0, false],
      ],
      history: [
        [`2026-03-0${n - 8} 12:00:00.${n}0${n}+00`, 'status_changed', null, 'pending_payment', null, CONNECTOR_KEY],
        [`2026-03-0${n - 7} 12:00:00+00`, 'status_changed', 'pending_payment', 'awaiting_confirmation', null, 'system'],
      ],
    }),
  ),
];

async function seed(ctx: TestContext) {
  const pool = ctx.database.pool;
  await pool.query(
    `insert into carriers (id, name, name_key) values ($1, 'Snap Health', 'snap health'), ($2, 'Other Health', 'other health')`,
    [CARRIER, OTHER],
  );
  const keys = new ApiKeyStore(ctx.database.db);
  await keys.create({ role: 'carrier', carrierId: CARRIER, name: 'snap', id: CARRIER_KEY, secret: CARRIER_SECRET });
  await keys.create({ role: 'connector', carrierId: null, name: 'conn', id: CONNECTOR_KEY, secret: CONNECTOR_SECRET });
  for (const s of SEEDS) {
    await pool.query(
      `insert into accounts (member_id, first_name, last_name, address_line1, city, state, postal_code, created_at)
       values ($1, $2, $3, '1 Main St', 'Boston', 'MA', '02108', '2025-01-01T00:00:00Z')`,
      [member(s.n), s.first, s.last],
    );
    await pool.query(
      `insert into enrollments (id, member_id, carrier_id, coverage_type, plan_name, monthly_premium_cents, status,
         chosen_coverage_start, coverage_start, selected_at, paid_in_full_at, confirmation_expected_by,
         id_card_expected_by, confirmed_at, carrier_policy_id, cancelled_at, credit_cents, flags, created_at,
         updated_at, subsidy, coverage_end, termination_reason, terminated_at, terminated_on,
         status_before_termination, delinquency_anchor, delinquency_stage)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20,
               $21, $22, $23, $24, $25, $26, $27)`,
      [
        enr(s.n),
        member(s.n),
        s.carrier ?? CARRIER,
        s.type ?? 'health',
        s.plan,
        s.premium ?? P,
        s.status,
        s.chosenStart,
        s.start,
        s.selectedAt,
        s.paidAt ?? null,
        s.expectedBy ?? null,
        s.idCardBy ?? null,
        s.confirmedAt ?? null,
        s.policy ?? null,
        s.cancelledAt ?? null,
        s.credit ?? 0,
        s.flags ?? [],
        s.createdAt,
        s.subsidy ?? 'none',
        s.termination?.end ?? null,
        s.termination?.reason ?? null,
        s.termination?.at ?? null,
        s.termination?.on ?? null,
        s.termination?.before ?? null,
        s.recorded?.anchor ?? null,
        s.recorded?.stage ?? null,
      ],
    );
    for (const [m, [month, due, paid, binder, voided]] of s.invoices.entries()) {
      await pool.query(
        `insert into invoices (id, enrollment_id, member_id, coverage_month, due_date, amount_due_cents,
           amount_paid_cents, is_binder, delivery, issued_at, voided_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'mail', $9, $10)`,
        [inv(s.n, m), enr(s.n), member(s.n), month, due, s.premium ?? P, paid, binder, s.createdAt, voided ?? null],
      );
    }
    for (const [at, type, from, to, reason, actor] of s.history) {
      await pool.query(
        `insert into enrollment_history (enrollment_id, at, type, from_value, to_value, reason, actor)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [enr(s.n), at, type, from, to, reason, actor],
      );
    }
  }
}

interface Answer {
  name: string;
  status: number;
  etag: string | undefined;
  body: string;
}

t.test('enrollment reads answer the same bytes as before the work-queue rewrite', async (t) => {
  const ctx = await testApp(t);
  await seed(ctx);
  await setClock(ctx, '2026-03-10T15:00:00.000Z');
  const answers: Answer[] = [];
  const get = async (name: string, url: string, key: string, headers: Record<string, string> = {}) => {
    // A fixed request id: a problem answer (404) carries it.
    const res = await ctx.request({
      method: 'GET',
      url,
      key,
      headers: { 'x-request-id': `work-queue-${answers.length}`, ...headers },
    });
    if (res.statusCode === 200) {
      t.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${name}: JSON`);
    }
    const answer = { name, status: res.statusCode, etag: res.headers.etag as string | undefined, body: res.body };
    answers.push(answer);
    return answer;
  };
  const ops = ctx.opsKey;

  // The work queue, whole and in pages of 2 (cursors).
  const queue = await get(
    'carrier work queue',
    '/v1/enrollments?status=awaiting_confirmation&limit=100',
    CARRIER_SECRET,
  );
  let url: string | null = '/v1/enrollments?status=awaiting_confirmation&limit=2';
  for (let page = 1; url && page < 10; page++) {
    const a = await get(`carrier work queue, page ${page} of 2`, url, CARRIER_SECRET);
    const next = (JSON.parse(a.body) as { nextCursor: string | null }).nextCursor;
    url = next ? `/v1/enrollments?status=awaiting_confirmation&limit=2&after=${next}` : null;
  }
  await get('carrier work queue, default limit', '/v1/enrollments?status=awaiting_confirmation', CARRIER_SECRET);
  // ETag/304: the same page with its ETag is 304 without a body; another ETag is the page.
  await get(
    'carrier work queue, If-None-Match',
    '/v1/enrollments?status=awaiting_confirmation&limit=100',
    CARRIER_SECRET,
    {
      'if-none-match': queue.etag ?? '',
    },
  );
  await get(
    'carrier work queue, stale If-None-Match',
    '/v1/enrollments?status=awaiting_confirmation&limit=100',
    CARRIER_SECRET,
    {
      'if-none-match': 'W/"stale"',
    },
  );
  // Every other list of enrollments, as carrier, connector and ops (actors differ by viewer).
  for (const [who, key] of [
    ['carrier', CARRIER_SECRET],
    ['connector', CONNECTOR_SECRET],
    ['ops', ops],
  ] as const) {
    for (const q of [
      'limit=100',
      'limit=3',
      'status=confirmed',
      'status=terminated',
      'status=pending_payment',
      'status=cancelled',
      'delinquency=any',
      'delinquency=past_due',
      `memberId=${member(4)}`,
      `carrierId=${OTHER}`,
    ]) {
      await get(`${who}: ?${q}`, `/v1/enrollments?${q}`, key);
    }
  }
  // GET by id shares the view: every enrollment, as each viewer.
  for (const s of SEEDS) {
    await get(`carrier: GET ${s.n}`, `/v1/enrollments/${enr(s.n)}`, CARRIER_SECRET);
    await get(`ops: GET ${s.n}`, `/v1/enrollments/${enr(s.n)}`, ops);
  }
  await get('ops: overdue confirmations', '/v1/ops/overdue-confirmations', ops);

  // A cursor this list did not hand out is refused as before.
  const bad = await ctx.request({
    method: 'GET',
    url: '/v1/enrollments?status=awaiting_confirmation&after=bm9wZQ',
    key: CARRIER_SECRET,
  });
  t.equal(bad.statusCode, 400, 'an unknown cursor is 400');
  t.equal(bad.json().code, 'invalid_cursor', 'invalid_cursor');

  // The page changes with its content: the ETag changes with it (a plan renamed, a clock moved).
  await ctx.database.pool.query(`update enrollments set plan_name = 'Gold II' where id = $1`, [enr(3)]);
  const renamed = await get(
    'carrier work queue, a plan renamed',
    '/v1/enrollments?status=awaiting_confirmation&limit=100',
    CARRIER_SECRET,
  );
  await get(
    'carrier work queue, old ETag after the rename',
    '/v1/enrollments?status=awaiting_confirmation&limit=100',
    CARRIER_SECRET,
    {
      'if-none-match': queue.etag ?? '',
    },
  );
  await setClock(ctx, '2026-03-25T15:00:00.000Z');
  const later = await get(
    'carrier work queue, later',
    '/v1/enrollments?status=awaiting_confirmation&limit=100',
    CARRIER_SECRET,
  );
  t.not(renamed.etag, queue.etag, 'a renamed plan changes the ETag');
  t.not(renamed.body, queue.body, 'and the body');
  t.not(later.etag, renamed.etag, 'a page that moved with the clock has another ETag');

  // The data is varied enough to mean something.
  const page = JSON.parse(queue.body) as { data: { id: string; delinquency: unknown; confirmationOverdue: boolean }[] };
  t.ok(page.data.length >= 8, 'the work queue holds most of the seeded enrollments');
  t.ok(
    page.data.some((e) => e.delinquency !== null),
    'one of them delinquent',
  );
  t.ok(
    page.data.some((e) => e.confirmationOverdue),
    'one of them overdue',
  );
  t.notOk(
    page.data.some((e) => e.id === enr(10)),
    "another carrier's enrollment is not in it",
  );
  t.notOk(
    page.data.some((e) => e.id === enr(9)),
    'a projected termination is not in the queue',
  );
  const all = answers.find((a) => a.name === 'ops: ?limit=100')?.body ?? '';
  t.match(all, /"status":"terminated"/, 'the unfiltered list holds terminations');
  t.match(all, /"coverage_start_moved"/, 'and a missed binder deadline moved');

  if (WRITE) {
    writeFileSync(FIXTURE, `${JSON.stringify(answers, null, 1)}\n`);
    t.pass('fixture written');
    return;
  }
  const expected = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Answer[];
  t.equal(answers.length, expected.length, 'as many answers as the fixture');
  for (const [i, a] of answers.entries()) {
    const e = expected[i];
    t.equal(a.name, e?.name, `answer ${i} is ${e?.name}`);
    t.equal(a.status, e?.status, `${a.name}: status`);
    t.equal(a.etag, e?.etag, `${a.name}: ETag`);
    t.equal(a.body, e?.body, `${a.name}: body byte for byte`);
  }
});
