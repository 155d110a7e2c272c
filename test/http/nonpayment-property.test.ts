import fc from 'fast-check';
import t from 'tap';
import { type TestContext, testApp } from '../helpers/app.js';
import { billingRunOk, eventsOf } from '../helpers/billing.js';
import { setClock } from '../helpers/factories.js';
import { addDays, addMonths, businessDate, dueDateOf } from '../helpers/model.js';
import {
  confirmedMembers,
  invariantViolations,
  NONPAYMENT_TYPES,
  type NpEnrollment,
  notices,
  ny,
  PREMIUM,
  payEnrollment,
  type Subsidy,
  sweepOk,
  view,
} from '../helpers/nonpayment.js';

// Issue 13's property test (SPEC R29-R30 with R24 and I1-I4), black-box over HTTP with the test clock.
// Three confirmed members (subsidy none, aptc, connectorcare; binder November 2025 and December paid)
// live through twelve months, December 2025 to November 2026. Each month the billing run for the next
// month runs on the 1st at 09:00 New York; each member pays nothing, part of a premium, a premium or
// more on a random day and time; deadline sweeps run at 01:00 on random days. At every sweep:
// - the standing a read shows just before the sweep (status, delinquency, coverageEnd, termination
//   fields) is what the enrollment shows right after the sweep has recorded it (R29: reads are
//   never stale, the sweep records what the reads computed);
// - I1-I4 hold (invariantViolations).
// At the end: every termination's coverageEnd follows R30 (none: the day before the earliest month
// that still had a balance, from the money paid before the termination instant, applied oldest first;
// aptc/connectorcare: the last day of U, the episode's firstUnpaidMonth), and each stage's notice and
// `enrollment.delinquent` event appears at most once per episode (one termination notice and event).
//
// The seed is fixed and printed; NP_PROP_SEED / NP_PROP_RUNS explore locally. Each run has its own
// app and database because the clock walks forward through 2025-2026.

const SEED = Number(process.env.NP_PROP_SEED ?? 20261203);
const NUM_RUNS = Number(process.env.NP_PROP_RUNS ?? 20);
const SUBSIDIES: Subsidy[] = ['none', 'aptc', 'connectorcare'];
const FIRST_MONTH = '2025-12-01'; // the calendar month of the first payment (after December was paid)
const MONTHS = 12;

type Kind = 'nothing' | 'part' | 'full' | 'more';
interface Pay {
  kind: Kind;
  extra: number; // cents for `part` (1..PREMIUM-1) and `more` (above one premium)
  day: number;
  hour: number;
  minute: number;
}
interface Month {
  pays: Pay[]; // one per member, in SUBSIDIES order
  sweepDays: number[];
}

const payArb: fc.Arbitrary<Pay> = fc.record({
  kind: fc.constantFrom<Kind>('nothing', 'part', 'full', 'full', 'full', 'more', 'more'),
  extra: fc.integer({ min: 1, max: 2 * PREMIUM }),
  day: fc.integer({ min: 1, max: 28 }),
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.constantFrom(0, 30, 59),
});
const monthArb: fc.Arbitrary<Month> = fc.record({
  pays: fc.tuple(payArb, payArb, payArb).map((p) => [...p]),
  // Often the day after the 23rd (the first date a stage can begin), plus a few other days.
  sweepDays: fc
    .tuple(fc.boolean(), fc.uniqueArray(fc.integer({ min: 2, max: 28 }), { maxLength: 2 }))
    .map(([on24, days]) => [...new Set([...(on24 ? [24] : []), ...days])].sort((a, b) => a - b)),
});

function amountOf(p: Pay): number {
  switch (p.kind) {
    case 'nothing':
      return 0;
    case 'part':
      return 1 + (p.extra % (PREMIUM - 1));
    case 'full':
      return PREMIUM;
    case 'more':
      return PREMIUM + p.extra;
  }
}

const pad = (n: number) => String(n).padStart(2, '0');
const lastDayOf = (month: string) => addDays(addMonths(month, 1), -1);

/** The standing a read shows: what the sweep records (R29-R30). */
const standing = (e: NpEnrollment) => ({
  status: e.status,
  delinquency: e.delinquency ?? null,
  coverageEnd: e.coverageEnd ?? null,
  terminationReason: e.terminationReason ?? null,
  terminatedAt: e.terminatedAt ?? null,
  creditCents: e.creditCents,
});

interface Step {
  at: string;
  what: 'run' | 'pay' | 'sweep';
  month?: string;
  member?: number;
  amount?: number;
}

function schedule(months: Month[]): Step[] {
  const steps: Step[] = [];
  months.forEach((m, i) => {
    const cal = addMonths(FIRST_MONTH, i); // calendar month
    const date = (d: number) => `${cal.slice(0, 8)}${pad(d)}`;
    steps.push({ at: ny(date(1), 9), what: 'run', month: addMonths(cal, 1) });
    for (const d of m.sweepDays) steps.push({ at: ny(date(d), 1), what: 'sweep' });
    m.pays.forEach((p, member) => {
      const amount = amountOf(p);
      // On the 1st, pay after the billing run (09:00) so the month's invoice exists either way.
      const hour = p.day === 1 ? Math.max(p.hour, 10) : p.hour;
      if (amount > 0) steps.push({ at: ny(date(p.day), hour, p.minute), what: 'pay', member, amount });
    });
  });
  // Stable by time; at one instant the run goes first, then sweeps, then payments.
  const order = { run: 0, sweep: 1, pay: 2 };
  return steps.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || order[a.what] - order[b.what]);
}

async function runScenario(ctx: TestContext, months: Month[]): Promise<{ episodes: number; terminations: number }> {
  const members = await confirmedMembers(
    ctx,
    SUBSIDIES.map((subsidy) => ({ subsidy })),
  );
  const ids = members.map((e) => e.id);
  const payments: { member: number; at: string; amount: number }[] = [];
  const lastDelinquency: (NpEnrollment['delinquency'] | null)[] = ids.map(() => null);
  const prevAnchor: (string | null)[] = ids.map(() => null);
  let prevCheckpoint = '2025-11-10T15:00:00.000Z'; // before every payment of the twelve months
  let episodes = 0;
  /** Money member `i` paid in the twelve months before (or at) an instant. */
  const paidBy = (i: number, instant: string, inclusive: boolean) =>
    payments
      .filter(
        (p) =>
          p.member === i &&
          (inclusive ? Date.parse(p.at) <= Date.parse(instant) : Date.parse(p.at) < Date.parse(instant)),
      )
      .reduce((sum, p) => sum + p.amount, 0);
  /** R24 oldest first with one premium a month: the first month not paid in full after `paid` cents. */
  const firstUnpaid = (paid: number) => addMonths('2026-01-01', Math.floor(paid / PREMIUM));
  const fail = (msg: string): never => {
    throw new Error(msg);
  };

  for (const step of schedule(months)) {
    await setClock(ctx, step.at);
    if (step.what === 'run') {
      await billingRunOk(ctx, step.month as string);
    } else if (step.what === 'pay') {
      await payEnrollment(ctx, ids[step.member as number] as string, step.amount as number);
      payments.push({ member: step.member as number, at: step.at, amount: step.amount as number });
    } else {
      const before = await Promise.all(ids.map((id) => view(ctx, id)));
      await sweepOk(ctx);
      const after = await Promise.all(ids.map((id) => view(ctx, id)));
      for (let i = 0; i < ids.length; i++) {
        const b = standing(before[i] as NpEnrollment);
        const a = standing(after[i] as NpEnrollment);
        if (JSON.stringify(a) !== JSON.stringify(b)) {
          fail(
            `${step.at} ${SUBSIDIES[i]}: the read before the sweep ${JSON.stringify(b)} != after ${JSON.stringify(a)}`,
          );
        }
        const d = (before[i] as NpEnrollment).delinquency;
        if (d) lastDelinquency[i] = d;
        if (d && d.firstUnpaidMonth !== prevAnchor[i]) {
          // A new episode began after the previous checkpoint: R29 anchors it on the first month not
          // paid in full at that moment, and that month's due date has passed.
          episodes++;
          const lo = firstUnpaid(paidBy(i, prevCheckpoint, false));
          const hi = firstUnpaid(paidBy(i, step.at, true));
          if (d.firstUnpaidMonth < lo || d.firstUnpaidMonth > hi) {
            fail(`${step.at} ${SUBSIDIES[i]}: anchor ${d.firstUnpaidMonth} outside [${lo}, ${hi}] from the money paid`);
          }
          if (dueDateOf(d.firstUnpaidMonth) >= businessDate(Date.parse(step.at))) {
            fail(`${step.at} ${SUBSIDIES[i]}: anchor ${d.firstUnpaidMonth} is not past its due date`);
          }
        }
        prevAnchor[i] = d ? d.firstUnpaidMonth : null;
      }
      prevCheckpoint = step.at;
      const violations = await invariantViolations(ctx, ids);
      if (violations.length > 0) fail(`${step.at}: ${violations.join('; ')}`);
    }
  }

  // The end of the twelve months: R30 for each termination, and each stage once per episode.
  let terminations = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    const subsidy = SUBSIDIES[i] as Subsidy;
    const e = await view(ctx, id);
    // Each recorded stage and termination writes its notice and its event together (cures add events
    // without notices). The events are read from the outbox the feed serves: the feed shows an event
    // only once every older transaction in the cluster has ended, which under other test files' load
    // can take longer than a poll waits (test/http/nonpayment-feed.test.ts covers the feed itself).
    const allNotices = await notices(ctx, e.memberId);
    const noticed = allNotices.filter((n) => n.type !== 'welcome_letter').length;
    const events = (await eventsOf(ctx, id))
      .filter((x) => NONPAYMENT_TYPES.includes(x.type))
      .map((x) => ({ type: x.type, data: x.data as Record<string, unknown> }));
    const withNotice = events.filter((x) => x.type !== 'enrollment.delinquency_cured');
    if (withNotice.length !== noticed) {
      fail(`${subsidy}: ${noticed} non-payment notices but ${withNotice.length} delinquent/terminated events`);
    }
    const delinquent = events.filter((x) => x.type === 'enrollment.delinquent');
    const keys = delinquent.map((x) => `${x.data.firstUnpaidMonth}/${x.data.stage}`);
    if (new Set(keys).size !== keys.length) fail(`${subsidy}: a stage's event twice in one episode: ${keys}`);
    for (const type of ['past_due', 'termination_warning', 'final_termination_warning']) {
      const payBys = allNotices.filter((n) => n.type === type).map((n) => n.payBy);
      if (new Set(payBys).size !== payBys.length) fail(`${subsidy}: ${type} notice twice for one episode: ${payBys}`);
    }
    if (subsidy === 'none' && delinquent.some((x) => x.data.stage !== 'past_due')) {
      fail(`${subsidy}: a warning stage for an unsubsidised member: ${keys}`);
    }
    const terminatedEvents = events.filter((x) => x.type === 'enrollment.terminated');
    const terminationNotices = allNotices.filter((n) => n.type === 'termination');
    if (e.status !== 'terminated') {
      if (terminatedEvents.length > 0 || terminationNotices.length > 0) {
        fail(`${subsidy}: not terminated but has a termination event or notice`);
      }
      continue;
    }
    terminations++;
    if (terminatedEvents.length !== 1) fail(`${subsidy}: ${terminatedEvents.length} enrollment.terminated events`);
    if (terminationNotices.length !== 1) fail(`${subsidy}: ${terminationNotices.length} termination notices`);
    if (e.terminationReason !== 'non_payment') fail(`${subsidy}: terminationReason ${e.terminationReason}`);
    const terminatedAt = Date.parse(String(e.terminatedAt));
    let expected: string;
    if (subsidy === 'none') {
      // R24: money named for the enrollment pays the oldest month first, the rest is credit that
      // pays later months as they are billed; every premium is the same, so the months paid in full
      // before the termination are the binder (November) and December plus what the payments cover.
      const paid = payments
        .filter((p) => p.member === i && Date.parse(p.at) < terminatedAt)
        .reduce((sum, p) => sum + p.amount, 0);
      const firstWithBalance = addMonths('2025-12-01', 1 + Math.floor(paid / PREMIUM));
      expected = addDays(firstWithBalance, -1);
      // R30: the first date after the past_due pay-by date (a 23rd).
      if (!businessDate(terminatedAt).endsWith('-24')) fail(`${subsidy}: terminated on ${businessDate(terminatedAt)}`);
    } else {
      // R30 terminates on the first date after the final stage's pay-by date, the due date of U+3
      // (the 23rd of U+2), so the termination date names the episode's U. It cannot be earlier than an
      // anchor seen before (episodes only move forward), the money paid before the termination had
      // covered every month before U (U was unpaid when the episode began, money only adds up, R24
      // pays oldest first) but not every month through U+3 (something owed by the pay-by date).
      const terminatedOn = businessDate(terminatedAt);
      if (!terminatedOn.endsWith('-24')) fail(`${subsidy}: terminated on ${terminatedOn}, not after a pay-by date`);
      const anchor = addMonths(terminatedOn, -2);
      const seen = [lastDelinquency[i]?.firstUnpaidMonth, ...delinquent.map((x) => x.data.firstUnpaidMonth)];
      if (seen.some((u) => typeof u === 'string' && u > anchor)) {
        fail(`${subsidy}: terminated on ${terminatedOn} (U ${anchor}) but an anchor seen is later: ${seen}`);
      }
      const covered = firstUnpaid(paidBy(i, String(e.terminatedAt), false));
      if (covered < anchor || covered > addMonths(anchor, 3)) {
        fail(`${subsidy}: terminated on ${terminatedOn} (U ${anchor}) with money paying through ${covered}`);
      }
      expected = lastDayOf(anchor);
    }
    if (e.coverageEnd !== expected) {
      fail(`${subsidy}: R30 coverageEnd ${e.coverageEnd}, expected ${expected} (terminated ${e.terminatedAt})`);
    }
    if (terminatedEvents[0]?.data.coverageEnd !== expected) {
      fail(`${subsidy}: enrollment.terminated says coverageEnd ${terminatedEvents[0]?.data.coverageEnd}`);
    }
    if (terminationNotices[0]?.coverageEnd !== expected) {
      fail(`${subsidy}: the termination notice says coverageEnd ${terminationNotices[0]?.coverageEnd}`);
    }
  }
  return { episodes, terminations };
}

// This file's tap timeout (package.json: 180 s) is too short when it shares two cores with three
// other files; its own work is unchanged.
t.setTimeout(300_000);

t.test(
  `R29-R30 property: random payments over 12 months for none, aptc, connectorcare (seed ${SEED}, ${NUM_RUNS} runs)`,
  async (t) => {
    let runs = 0;
    let terminations = 0;
    let episodes = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(monthArb, { minLength: MONTHS, maxLength: MONTHS }), async (months) => {
        const teardowns: (() => unknown)[] = [];
        const ctx = await testApp({ teardown: (fn) => teardowns.push(fn) });
        try {
          const seen = await runScenario(ctx, months);
          runs++;
          terminations += seen.terminations;
          episodes += seen.episodes;
        } finally {
          for (const fn of teardowns.reverse()) await fn();
        }
      }),
      { numRuns: NUM_RUNS, seed: SEED, endOnFailure: true },
    );
    t.equal(
      runs,
      NUM_RUNS,
      `${NUM_RUNS} runs held (${episodes} delinquency episodes, ${terminations} terminations among ${3 * NUM_RUNS} members)`,
    );
  },
);
