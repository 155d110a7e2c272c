import { sql } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { comparePositions, FEED_START, type FeedPosition } from '../../src/domain/events.js';
import { decodePosition, feedQuery } from '../../src/store/feed.js';
import { type TestContext, testApp } from '../helpers/app.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';

const FOREIGN_BATCHES = 6;
const FOREIGN_PER_BATCH = 2_500;

/** Events an idle carrier may not see: its own `invoice.issued` and `payment.received`, and another carrier's. */
async function seedForeignEvents(ctx: TestContext, idle: string, other: string) {
  for (let b = 0; b < FOREIGN_BATCHES; b++) {
    await sql`
      insert into events (type, occurred_at, carrier_id, enrollment_id, data)
      select case g % 4 when 0 then 'invoice.issued' when 1 then 'payment.received'
                        when 2 then 'enrollment.created' else 'enrollment.confirmed' end,
             now(), case when g % 4 < 2 then ${idle} else ${other} end, 'enr_seed_' || g, '{}'
      from generate_series(1, ${FOREIGN_PER_BATCH}::int) g`.execute(ctx.database.db);
  }
  await sql`analyze events`.execute(ctx.database.db);
}

async function lastEventPosition(ctx: TestContext): Promise<FeedPosition> {
  const r = await sql<{ tx: string; id: string }>`
    select tx::text as tx, id from events order by tx desc, id desc limit 1`.execute(ctx.database.db);
  const row = r.rows[0];
  if (!row) throw new Error('no events');
  return { tx: row.tx, id: Number(row.id) };
}

const after = (a: FeedPosition, b: FeedPosition) => comparePositions(a, b) > 0;
const atOrAfter = (a: FeedPosition, b: FeedPosition) => comparePositions(a, b) >= 0;

async function poll(ctx: TestContext, key: string, cursor?: string) {
  const res = await ctx.request({ method: 'GET', url: `/v1/events?limit=100${cursor ? `&after=${cursor}` : ''}`, key });
  if (res.statusCode !== 200) throw new Error(`poll failed ${res.statusCode} ${res.body}`);
  return res.json() as { data: { id: string; type: string; data: Record<string, unknown> }[]; nextCursor: string };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Rows Removed by Filter'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}
function nodes(p: PlanNode): PlanNode[] {
  return [p, ...(p.Plans ?? []).flatMap(nodes)];
}

t.test('R27: an idle carrier behind many events it may not see', async (t) => {
  const ctx = await testApp(t);
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const idle = await newCarrier(ctx);
  const other = await newCarrier(ctx);
  const fresh = await newCarrier(ctx);
  const key = (await ctx.newKey('carrier', idle.id)).secret;
  await seedForeignEvents(ctx, idle.id, other.id);
  const foreignEnd = await lastEventPosition(ctx);

  t.test('its poll reads only its own visible rows: an index scan, no row filtered away', async (t) => {
    for (const carrierId of [idle.id, fresh.id]) {
      const explained = await sql<{ 'QUERY PLAN': { Plan: PlanNode }[] }>`
        explain (analyze, buffers, format json) ${feedQuery(FEED_START, { carrierId }, 100)}`.execute(ctx.database.db);
      const plan = explained.rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode;
      const all = nodes(plan);
      const scans = all.filter((n) => n['Relation Name'] === 'events');
      t.ok(scans.length > 0, 'the plan reads events');
      for (const s of scans) {
        t.match(s['Node Type'], /^Index( Only)? Scan$/, `${carrierId}: ${s['Node Type']} ${s['Index Name'] ?? ''}`);
        t.equal(s['Rows Removed by Filter'] ?? 0, 0, `${carrierId}: no events read and thrown away`);
      }
      const blocks = scans.reduce((n, s) => n + (s['Shared Hit Blocks'] ?? 0) + (s['Shared Read Blocks'] ?? 0), 0);
      t.ok(blocks <= 5, `${carrierId}: a few index pages, not the table (${blocks} blocks)`);
    }
  });

  t.test('an empty page moves the cursor past what it may not see, never past what it may', async (t) => {
    // The horizon is the oldest transaction still open on the whole cluster (other test files share
    // it), so the cursor may take a moment to pass events committed a moment ago.
    let first = await poll(ctx, key);
    const shown = [...first.data];
    let moved: FeedPosition[] = [decodePosition(first.nextCursor) as FeedPosition];
    const until = Date.now() + 20_000;
    while (!after(moved.at(-1) as FeedPosition, foreignEnd) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 25));
      first = await poll(ctx, key, first.nextCursor);
      shown.push(...first.data);
      moved = [...moved, decodePosition(first.nextCursor) as FeedPosition];
    }
    t.same(shown, [], 'nothing of its own yet');
    t.ok(
      moved.every((c, i) => i === 0 || atOrAfter(c, moved[i - 1] as FeedPosition)),
      'each cursor at or after the one given',
    );
    t.ok(after(moved.at(-1) as FeedPosition, foreignEnd), 'the cursor moved past every settled event it may not see');

    // A transaction that already wrote the carrier's event is still open when the next pages are served.
    const dbName = (await sql<{ db: string }>`select current_database() as db`.execute(ctx.database.db)).rows[0]?.db;
    const slow = new pg.Client({ connectionString: `${process.env.TEST_DATABASE_SERVER_URL}/${dbName}` });
    await slow.connect();
    t.teardown(() => slow.end());
    await slow.query('begin');
    await slow.query(
      `insert into events (type, occurred_at, carrier_id, enrollment_id, data)
       values ('enrollment.slow_test', now(), $1, 'enr_slow', '{}')`,
      [idle.id],
    );
    // Later transactions commit more foreign events, so the horizon would like to move past the open one.
    await seedForeignEvents(ctx, idle.id, other.id);

    let cursor = first.nextCursor;
    for (let i = 0; i < 3; i++) {
      const page = await poll(ctx, key, cursor);
      t.same(page.data, [], 'the open transaction is not shown');
      const c = decodePosition(page.nextCursor) as FeedPosition;
      t.ok(atOrAfter(c, decodePosition(cursor) as FeedPosition), 'at or after the cursor given');
      cursor = page.nextCursor;
    }
    await slow.query('commit');

    // Its own event from the API, committed after all of that.
    const e = await newEnrollment(ctx, { carrierId: idle.id });
    const seen: string[] = [];
    const deadline = Date.now() + 20_000;
    while (!seen.includes('enrollment.created') && Date.now() < deadline) {
      const page = await poll(ctx, key, cursor);
      for (const ev of page.data) {
        seen.push(ev.type);
        if (ev.type === 'enrollment.created') t.equal(ev.data.enrollmentId, e.id);
      }
      cursor = page.nextCursor;
      if (page.data.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    t.same(seen, ['enrollment.slow_test', 'enrollment.created'], 'both of its own events, once each, in order');
  });

  t.test('ops still sees every event in order, once', async (t) => {
    const all = await sql<{ id: string }>`select e.id::text as id from events e order by e.tx, e.id`.execute(
      ctx.database.db,
    );
    const lastId = all.rows.at(-1)?.id;
    const seen: { id: string; type: string }[] = [];
    let cursor: string | undefined;
    const deadline = Date.now() + 20_000;
    while (seen.at(-1)?.id !== lastId && Date.now() < deadline) {
      const res = await ctx.request({ method: 'GET', url: `/v1/events?limit=500${cursor ? `&after=${cursor}` : ''}` });
      const page = res.json() as { data: { id: string; type: string }[]; nextCursor: string };
      seen.push(...page.data);
      cursor = page.nextCursor;
      if (page.data.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    t.equal(seen.length, all.rows.length, 'every event');
    t.same(
      seen.map((e) => e.id),
      all.rows.map((r) => r.id),
      'the same events in (tx, id) order',
    );
  });
});
