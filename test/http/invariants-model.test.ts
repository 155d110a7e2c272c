import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import {
  type Answer,
  addDays,
  addMonths,
  businessDate,
  Client,
  checkInvariants,
  dueDateOf,
  type Invoice,
  iso,
  newStats,
  nyInstant,
  readSnapshot,
  type Snapshot,
  sameState,
  TestBug,
  Violation,
  type World,
} from '../helpers/model.js';

// Model-based property suite (issue 11): random sequences of checkouts, payments on every channel,
// returns, cancellations, carrier confirmations, ops applications of unapplied mail, billing runs,
// deadline sweeps, clock moves, retries with the same Idempotency-Key and batches of concurrent
// requests, against the app on real PostgreSQL with the test clock. After EVERY command the state
// is read back through the API only (enrollments, invoices, payments, all pages) and checked:
// I1-I5, money conservation, the binder rules (R9-R11), replays (same answer, nothing new) and
// refused requests (nothing observable changed). The model only chooses valid commands.
//
// The seed is fixed and printed; PROP_SEED / PROP_RUNS / PROP_PATH explore or replay locally.

const SEED = Number(process.env.PROP_SEED ?? 20261203);
const NUM_RUNS = Number(process.env.PROP_RUNS ?? 200);
const MAX_COMMANDS = 20;
// The gate is 200 sequences. Alone they take about 60 s here; in the full suite this file shares two
// cores with three other files (tap jobs 4) and needs about three times that, so the wall-clock limit
// only stops a run that hangs; the file's own tap timeout is set to match below.
const TIME_BUDGET_MS = Number(process.env.PROP_BUDGET_MS ?? 300_000);
// Local exploration only, to look past a known failure (the committed run sets none of them, and the
// output says when one is set): PROP_SKIP_RETRY=<regex> leaves matching URLs out of retries,
// PROP_SKIP=<command kinds> leaves those commands out, PROP_ALLOW=<"status code",...> accepts those
// answers too, PROP_SOFT=<violation kind prefixes> counts those invariant violations and goes on.
// PROP_STATUSES=1 / PROP_TIMING=1 print answers and time per route.
const KNOBS = ['PROP_SKIP_RETRY', 'PROP_SKIP', 'PROP_ALLOW', 'PROP_SOFT'].filter((k) => process.env[k]);
const SKIP_RETRY = process.env.PROP_SKIP_RETRY ? new RegExp(process.env.PROP_SKIP_RETRY) : null;
const SKIP = new Set((process.env.PROP_SKIP ?? '').split(',').filter(Boolean));
const retryable = (run: Run) =>
  run.posts.filter((p) => p.clockMs > run.clockMs - 23 * 3_600_000 && !SKIP_RETRY?.test(p.req.url));

// One sequence sends a few hundred requests with one ops key: lift the per-key limit (not under test here).
const ctx = await testApp(t, { env: { RATE_LIMIT_PER_MINUTE: '10000000' } });
const stats = newStats();
const START_YEAR_DAY0 = '2027-01-01';

// ---------------------------------------------------------------------------------------------
// Commands as plain data (so fast-check can print and shrink them); entities are chosen by index
// modulo what exists when the command runs.

const ROUTES = [
  'online_invoice',
  'online_enrollment',
  'online_guest',
  'phone_member',
  'phone_phone',
  'phone_enrollment',
  'phone_invoice',
  'mail_slip',
  'mail_remittance',
  'mail_unmatched',
  'mail_unknown_slip',
] as const;
type Route = (typeof ROUTES)[number];

type Spec =
  | {
      t: 'checkout';
      newMember: boolean;
      member: number;
      carrier: number;
      dental: boolean;
      start: number | null;
      selectedBackMin: number | null;
      premium: number;
    }
  | {
      t: 'pay';
      route: Route;
      pick: number;
      method: number;
      amount: 'exact' | 'partial' | 'over' | 'small';
      frac: number;
      extra: number;
      back: number | null;
      owing: boolean;
    }
  | { t: 'return'; payment: number; reason: number; fresh: boolean }
  | { t: 'cancel'; enrollment: number; reason: boolean }
  | { t: 'confirm'; enrollment: number; asCarrier: boolean }
  | { t: 'apply'; payment: number; byInvoice: boolean; target: number }
  | { t: 'bill'; offset: number; enrollment: number | null }
  | { t: 'sweep' }
  | { t: 'carrier' }
  | { t: 'clock'; kind: 'hours' | 'days' | 'after23' | 'end23' | 'monthStart'; n: number }
  | { t: 'retry'; post: number }
  | { t: 'concurrent'; subs: Spec[]; dup: number | null };

const PREMIUMS = [45000, 32150, 1999, 87501] as const;

const checkoutArb = fc.record({
  t: fc.constant('checkout' as const),
  newMember: fc.boolean(),
  member: fc.nat(20),
  carrier: fc.nat(3),
  dental: fc.boolean(),
  start: fc.option(fc.constantFrom(1, 2, 3, 1, 0), { nil: null }),
  selectedBackMin: fc.option(fc.integer({ min: 0, max: 71 * 60 }), { nil: null }),
  premium: fc.constantFrom(...PREMIUMS),
});
const payArb = fc.record({
  t: fc.constant('pay' as const),
  route: fc.constantFrom(...ROUTES),
  pick: fc.nat(50),
  method: fc.nat(5),
  amount: fc.constantFrom('exact' as const, 'partial' as const, 'over' as const, 'exact' as const, 'small' as const),
  frac: fc.integer({ min: 1, max: 99 }),
  extra: fc.integer({ min: 1, max: 60_000 }),
  back: fc.option(fc.nat(7 * 24 * 60), { nil: null }),
  owing: fc.nat(9).map((n) => n < 7),
});
const returnArb = fc.record({
  t: fc.constant('return' as const),
  payment: fc.nat(50),
  reason: fc.nat(2),
  fresh: fc.nat(9).map((n) => n < 8),
});
const cancelArb = fc.record({ t: fc.constant('cancel' as const), enrollment: fc.nat(20), reason: fc.boolean() });
const confirmArb = fc.record({ t: fc.constant('confirm' as const), enrollment: fc.nat(20), asCarrier: fc.boolean() });
const applyArb = fc.record({
  t: fc.constant('apply' as const),
  payment: fc.nat(20),
  byInvoice: fc.boolean(),
  target: fc.nat(50),
});
// A month near an enrollment's coverage start (where binders move to) or near the business date.
const billArb = fc.record({
  t: fc.constant('bill' as const),
  offset: fc.constantFrom(1, 2, 1, 0, -1, 3),
  enrollment: fc.option(fc.nat(20), { nil: null, freq: 3 }),
});
const sweepArb = fc.constant({ t: 'sweep' as const });
const carrierArb = fc.constant({ t: 'carrier' as const });
const clockArb = fc.record({
  t: fc.constant('clock' as const),
  kind: fc.constantFrom(
    'hours' as const,
    'days' as const,
    'after23' as const,
    'end23' as const,
    'monthStart' as const,
    'after23' as const,
    'days' as const,
  ),
  n: fc.nat(100_000),
});
const retryArb = fc.record({ t: fc.constant('retry' as const), post: fc.nat(100) });
const subArb: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 5, arbitrary: payArb },
  { weight: 2, arbitrary: returnArb },
  { weight: 2, arbitrary: cancelArb },
  { weight: 2, arbitrary: billArb },
  { weight: 1, arbitrary: sweepArb },
  { weight: 1, arbitrary: confirmArb },
  { weight: 1, arbitrary: applyArb },
  { weight: 1, arbitrary: checkoutArb.map((c) => ({ ...c, newMember: false })) },
);
const concurrentArb = fc.record({
  t: fc.constant('concurrent' as const),
  subs: fc.array(subArb, { minLength: 2, maxLength: 6 }),
  dup: fc.option(fc.nat(5), { nil: null, freq: 3 }),
});

// ---------------------------------------------------------------------------------------------
// The model of one sequence (only what is needed to choose valid commands)

interface MemberM {
  memberId: string;
  firstName: string;
  lastName: string;
  phone: { e164: string; local: string };
}
interface EnrollmentM {
  id: string;
  memberId: string;
  carrier: number;
  selectedAtMs: number;
  premium: number;
}
interface PaymentM {
  id: string;
  channel: string;
  method: string;
}
interface Req {
  method: 'POST' | 'PUT';
  url: string;
  payload?: unknown;
  idem?: string;
  apiKey?: string;
  /** Strict expectation from SPEC for a single command: null when the answer is allowed. */
  expect?: (a: Answer) => string | null;
  /** The SPEC rule the expectation comes from. */
  rule?: string;
  after?: (a: Answer) => void;
}
interface Plan {
  desc: string;
  steps: Req[];
}
interface PostLog {
  req: Req;
  answer: Answer;
  clockMs: number;
}

let runCounter = 0;
let memberCounter = 0;
let phoneCounter = 0;
const tag = `${process.pid % 1000}`.padStart(3, '0');
const newMemberId = () => `7${tag}${String(++memberCounter).padStart(8, '0')}`;
function newPhone() {
  phoneCounter++;
  const exchange = String(200 + (phoneCounter % 700)).padStart(3, '0');
  const line = String(Math.floor(phoneCounter / 700) % 10000).padStart(4, '0');
  const area = String(300 + (process.pid % 600));
  return { e164: `+1${area}${exchange}${line}`, local: `(${area}) ${exchange}-${line}` };
}

/** Carriers are shared by every sequence (each sequence reads its own members' data only). */
const CARRIERS: { id: string; name: string; key: string }[] = [];
for (const [i, name] of ['Harbor Health Plan', 'Bay State Dental Care', 'Minuteman Health'].entries()) {
  const id = `pm${process.pid % 1000}-${i}`;
  const c = await ctx.request({ method: 'POST', url: '/v1/carriers', payload: { id, name } });
  const k = await ctx.request({
    method: 'POST',
    url: '/v1/api-keys',
    payload: { role: 'carrier', carrierId: id, name: `carrier ${id}` },
  });
  if (c.statusCode !== 201 || k.statusCode !== 201) throw new Error(`carrier setup: ${c.body} ${k.body}`);
  CARRIERS.push({ id, name, key: k.json().secret });
}

class Run {
  readonly no = ++runCounter;
  readonly trace: string[] = [];
  readonly client = new Client(ctx, stats);
  readonly carriers: { id: string; name: string; key?: string }[] = [...CARRIERS];
  readonly members: MemberM[] = [];
  readonly enrollments: EnrollmentM[] = [];
  readonly payments: PaymentM[] = [];
  readonly posts: PostLog[] = [];
  readonly world: World = { memberIds: [], enrollmentIds: new Set(), paymentIds: new Set() };
  snap: Snapshot;
  constructor(public clockMs: number) {
    this.snap = { clockMs, enrollments: new Map(), invoices: new Map(), payments: new Map() };
  }

  get today() {
    return businessDate(this.clockMs);
  }
  invoices(): Invoice[] {
    return [...this.snap.invoices.values()];
  }
  status(enrollmentId: string) {
    return this.snap.enrollments.get(enrollmentId)?.status;
  }
}

const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);
const ALLOW = (process.env.PROP_ALLOW ?? '').split(',').filter(Boolean);
const oneOf =
  (...spec: string[]) =>
  (a: Answer) => {
    const allowed = [...spec, ...ALLOW];
    const got = `${a.status}${a.body?.code ? ` ${a.body.code}` : ''}`;
    return allowed.some((x) => got === x || (!x.includes(' ') && String(a.status) === x))
      ? null
      : `answered ${got}, SPEC allows ${allowed.join(' | ')}: ${JSON.stringify(a.body).slice(0, 300)}`;
  };

// ---------------------------------------------------------------------------------------------
// Planning: a command becomes requests, chosen from the model and the last observed state

function planCheckout(run: Run, s: Extract<Spec, { t: 'checkout' }>): Plan {
  const steps: Req[] = [];
  let member = s.newMember ? undefined : pick(run.members, s.member);
  if (!member) {
    const n = run.members.length;
    const fresh: MemberM = {
      memberId: newMemberId(),
      firstName: ['Ana', 'José', 'Mei', 'Tom'][n % 4] ?? 'Ana',
      lastName: `Quinn-${run.no}x${n}`,
      phone: newPhone(),
    };
    member = fresh;
    steps.push({
      method: 'POST',
      url: '/v1/accounts',
      idem: randomUUID(),
      payload: {
        memberId: fresh.memberId,
        firstName: fresh.firstName,
        lastName: fresh.lastName,
        mailingAddress: { line1: `${n + 1} Ashburton Place`, city: 'Boston', state: 'MA', postalCode: '02108' },
        phoneNumbers: [fresh.phone.e164],
        paperless: n % 2 === 0,
      },
      expect: oneOf('201'),
      rule: 'R5',
      after: (a) => {
        if (a.status === 201 && !run.members.some((m) => m.memberId === fresh.memberId)) {
          run.members.push(fresh);
          run.world.memberIds.push(fresh.memberId);
        }
      },
    });
  }
  const carrier = s.carrier % run.carriers.length;
  const selectedAtMs = s.selectedBackMin === null ? run.clockMs : run.clockMs - s.selectedBackMin * 60_000;
  const coverageStart = s.start === null ? null : addMonths(run.today, s.start);
  const selectedDay = businessDate(selectedAtMs);
  const payload = {
    memberId: member.memberId,
    carrierId: run.carriers[carrier]?.id,
    coverageType: s.dental ? 'dental' : 'health',
    planName: s.dental ? 'Dental Basic' : 'ConnectorCare Plan Type II',
    monthlyPremiumCents: s.premium,
    ...(coverageStart ? { coverageStart } : {}),
    ...(s.selectedBackMin === null ? {} : { selectedAt: iso(selectedAtMs) }),
  };
  // R8: refused when the checkout's business date is after the due date of the requested start.
  // Whether "the checkout's date" is selectedAt's or the clock's is left open: both are accepted between them.
  const expect = (() => {
    if (!coverageStart) return oneOf('201');
    const due = dueDateOf(coverageStart);
    if (due >= run.today) return oneOf('201');
    if (due < selectedDay) return oneOf('422 deadline_passed');
    return oneOf('201', '422 deadline_passed');
  })();
  const memberId = member.memberId;
  steps.push({
    method: 'POST',
    url: '/v1/enrollments',
    idem: randomUUID(),
    payload,
    expect,
    rule: 'R7/R8',
    after: (a) => {
      if (a.status === 201 && !run.world.enrollmentIds.has(a.body.id)) {
        run.world.enrollmentIds.add(a.body.id);
        run.enrollments.push({ id: a.body.id, memberId, carrier, selectedAtMs, premium: s.premium });
      }
    },
  });
  return { desc: `checkout ${JSON.stringify(payload)}`, steps };
}

function methodDetails(run: Run, method: string, n: number): Record<string, unknown> {
  const year = Number(run.today.slice(0, 4));
  switch (method) {
    case 'checking':
    case 'savings':
      return {
        bankAccount: {
          routingNumber: ['011000015', '021000021', '026009593'][n % 3],
          accountNumber: `00${String(123456 + n * 7919).slice(0, 7)}`,
        },
      };
    case 'credit_card':
    case 'debit_card':
      return {
        card: {
          token: `tok_test_${run.no}_${n}`,
          brand: ['visa', 'mastercard', 'amex', 'discover'][n % 4],
          last4: String(1000 + (n % 9000)),
          expMonth: 1 + (n % 12),
          expYear: year + 2,
        },
      };
    case 'check':
      return {
        check: { checkNumber: String(1000 + n), payableTo: n % 3 === 0 ? 'HEALTH  connector' : 'Health Connector' },
      };
    default:
      return { moneyOrder: { serialNumber: `MO-${700000 + n}`, payableTo: 'Health Connector' } };
  }
}

/** A 10-digit invoice number with a valid Luhn digit that no invoice has (real ones start with 1). */
function unknownInvoiceNumber(n: number): string {
  const body = `8${String(n).padStart(8, '0')}`;
  let sum = 0;
  for (let i = body.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = Number(body[i]);
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

function planPay(run: Run, s: Extract<Spec, { t: 'pay' }>): Plan | null {
  const channel = s.route.split('_')[0] as 'online' | 'phone' | 'mail';
  const methods = {
    online: ['checking', 'savings', 'credit_card', 'checking', 'debit_card', 'savings'],
    phone: ['checking', 'savings'],
    mail: ['check', 'money_order'],
  }[channel];
  const method = methods[s.method % methods.length] ?? 'checking';
  const invoices = run.invoices();
  const liveBalance = (enrollmentIds: string[]) =>
    invoices
      .filter((i) => enrollmentIds.includes(i.enrollmentId) && i.status !== 'void')
      .reduce((sum, i) => sum + i.balanceCents, 0);
  let target: Record<string, unknown>;
  let base: number;
  let enrollmentsConcerned: EnrollmentM[];
  let expect = oneOf('201');
  // Mostly an invoice or enrollment that owes money (so binders complete), sometimes any at all.
  const owingInvoices = invoices.filter((i) => i.status !== 'void' && i.balanceCents > 0);
  const invoice = pick(s.owing && owingInvoices.length ? owingInvoices : invoices, s.pick);
  const owingEnrollments = run.enrollments.filter((e) => owingInvoices.some((i) => i.enrollmentId === e.id));
  const enrollment = pick(s.owing && owingEnrollments.length ? owingEnrollments : run.enrollments, s.pick);
  const invoiceOwner = invoice && run.enrollments.find((e) => e.id === invoice.enrollmentId);
  switch (s.route) {
    case 'online_invoice':
    case 'phone_invoice':
    case 'mail_slip':
    case 'online_guest': {
      if (!invoice || !invoiceOwner) return null;
      target =
        s.route === 'mail_slip'
          ? { slip: { invoiceNumber: invoice.invoiceNumber } }
          : { invoiceNumber: invoice.invoiceNumber };
      if (s.route === 'online_guest') target.guest = true;
      base = invoice.status === 'void' ? invoice.amountDueCents : invoice.balanceCents || invoice.amountDueCents;
      enrollmentsConcerned = [invoiceOwner];
      break;
    }
    case 'online_enrollment':
    case 'phone_enrollment':
      if (!enrollment) return null;
      target = { enrollmentId: enrollment.id };
      base = liveBalance([enrollment.id]) || enrollment.premium;
      enrollmentsConcerned = [enrollment];
      break;
    case 'phone_member':
    case 'phone_phone': {
      if (!enrollment) return null;
      const member = run.members.find((m) => m.memberId === enrollment.memberId);
      if (!member) return null;
      enrollmentsConcerned = run.enrollments.filter((e) => e.memberId === member.memberId);
      target =
        s.route === 'phone_member'
          ? { memberId: member.memberId }
          : { phoneNumber: s.pick % 2 ? member.phone.local : member.phone.e164 };
      const owing = enrollmentsConcerned.filter((e) => liveBalance([e.id]) > 0);
      base = owing.length === 1 && owing[0] ? liveBalance([owing[0].id]) : enrollment.premium;
      // R21: the one enrollment with a balance; several: target_ambiguous; none is not named by SPEC.
      expect =
        owing.length === 1
          ? oneOf('201')
          : owing.length > 1
            ? oneOf('422 target_ambiguous')
            : oneOf('201', '422 target_not_found', '422 target_ambiguous');
      break;
    }
    case 'mail_remittance': {
      if (!enrollment) return null;
      const member = run.members.find((m) => m.memberId === enrollment.memberId);
      const carrier = run.carriers[enrollment.carrier];
      if (!member || !carrier) return null;
      const carrierName = s.pick % 3 === 0 ? carrier.name.toUpperCase().replace(' ', '   ') : carrier.name;
      target = {
        remittance: { memberId: member.memberId, firstName: member.firstName, lastName: member.lastName, carrierName },
      };
      enrollmentsConcerned = run.enrollments.filter((e) => e.memberId === member.memberId);
      base = liveBalance([enrollment.id]) || enrollment.premium;
      break;
    }
    case 'mail_unmatched':
      target = {
        remittance: {
          memberId: newMemberId(),
          firstName: 'Nobody',
          lastName: `Known-${run.no}`,
          carrierName: 'Unknown Health',
        },
      };
      enrollmentsConcerned = [];
      base = PREMIUMS[s.pick % PREMIUMS.length] ?? 45000;
      break;
    case 'mail_unknown_slip':
      target = { slip: { invoiceNumber: unknownInvoiceNumber(run.no * 100 + (s.pick % 100)) } };
      enrollmentsConcerned = [];
      base = PREMIUMS[s.pick % PREMIUMS.length] ?? 45000;
      break;
  }
  const amountCents =
    s.amount === 'exact'
      ? base
      : s.amount === 'partial'
        ? Math.max(1, Math.floor((base * s.frac) / 100))
        : s.amount === 'over'
          ? base + s.extra
          : 1 + (s.extra % 5000);
  // receivedAt within the SPEC's ranges: online and phone within 5 minutes of the clock, mail up to
  // 7 calendar days back (never more than 10 business days); never before the enrollment's selectedAt.
  const floor = Math.max(0, ...enrollmentsConcerned.map((e) => e.selectedAtMs));
  let receivedAt: string | undefined;
  if (s.back !== null) {
    const backMs = channel === 'mail' ? s.back * 60_000 : (s.back % 5) * 60_000;
    receivedAt = iso(Math.max(floor, run.clockMs - backMs));
  }
  const payload = {
    channel,
    method,
    amountCents,
    ...(receivedAt ? { receivedAt } : {}),
    ...target,
    ...methodDetails(run, method, s.pick + s.extra),
  };
  const unmatched = s.route === 'mail_unmatched' || s.route === 'mail_unknown_slip';
  // R24 covers a named void invoice or cancelled enrollment too: recorded, and credit on that enrollment.
  const rule = channel === 'mail' ? 'R23/R24' : s.route === 'phone_member' || s.route === 'phone_phone' ? 'R21' : 'R24';
  return {
    desc: `pay ${s.route} ${JSON.stringify(payload)}`,
    steps: [
      {
        method: 'POST',
        url: '/v1/payments',
        idem: randomUUID(),
        payload,
        // R23/R24: money that arrives by mail is never turned away; unmatched mail is recorded unapplied.
        expect: (a) =>
          expect(a) ??
          (unmatched && a.status === 201 && (a.body.status !== 'unapplied' || a.body.unappliedCents !== amountCents)
            ? `R23: unmatched mail must be recorded unapplied with all its money, got ${JSON.stringify(a.body)}`
            : null),
        rule,
        after: (a) => {
          if (a.status === 201 && !run.world.paymentIds.has(a.body.id)) {
            run.world.paymentIds.add(a.body.id);
            run.payments.push({ id: a.body.id, channel, method });
          }
        },
      },
    ],
  };
}

function plan(run: Run, s: Spec): Plan | null {
  switch (s.t) {
    case 'checkout':
      return planCheckout(run, s);
    case 'pay':
      return planPay(run, s);
    case 'return': {
      const returnable = run.payments.filter(
        (x) =>
          run.snap.payments.get(x.id)?.status !== 'returned' && x.method !== 'credit_card' && x.method !== 'debit_card',
      );
      const p = pick(s.fresh && returnable.length ? returnable : run.payments, s.payment);
      if (!p) return null;
      const bank = p.method === 'checking' || p.method === 'savings';
      const reasonCode = bank
        ? (['R01', 'R02', 'R10'][s.reason] ?? 'R01')
        : p.method === 'check' || p.method === 'money_order'
          ? 'CHECK_RETURNED'
          : 'R01';
      const seen = run.snap.payments.get(p.id);
      const card = p.method === 'credit_card' || p.method === 'debit_card';
      // R25: a payment can be returned once (again: 409 already_returned); cards are not an ACH return or a check.
      const expect =
        seen?.status === 'returned' ? oneOf('409 already_returned') : card ? oneOf('201', '422') : oneOf('201');
      return {
        desc: `return ${p.id} (${p.channel} ${p.method}) ${reasonCode}`,
        steps: [
          {
            method: 'POST',
            url: `/v1/payments/${p.id}/returns`,
            idem: randomUUID(),
            payload: { reasonCode },
            expect,
            rule: 'R25',
          },
        ],
      };
    }
    case 'cancel': {
      const e = pick(run.enrollments, s.enrollment);
      if (!e) return null;
      const status = run.status(e.id);
      // R13: before confirmation; after it 409 not_cancellable. A repeat is not named by SPEC.
      const expect =
        status === 'confirmed'
          ? oneOf('409 not_cancellable')
          : status === 'cancelled'
            ? oneOf('200', '409')
            : oneOf('200');
      return {
        desc: `cancel ${e.id} (${status})`,
        steps: [
          {
            method: 'POST',
            url: `/v1/enrollments/${e.id}/cancellation`,
            idem: randomUUID(),
            payload: s.reason ? { reason: 'member changed plans' } : {},
            expect,
            rule: 'R13',
          },
        ],
      };
    }
    case 'confirm': {
      const e = pick(run.enrollments, s.enrollment);
      if (!e) return null;
      const status = run.status(e.id);
      const carrier = run.carriers[e.carrier];
      // R12, R26: confirms an enrollment awaiting confirmation; a repeat is harmless; otherwise 409.
      const expect =
        status === 'awaiting_confirmation' || status === 'confirmed'
          ? oneOf('200')
          : oneOf('409 not_awaiting_confirmation');
      return {
        desc: `confirm ${e.id} (${status}) as ${s.asCarrier ? 'carrier' : 'ops'}`,
        steps: [
          {
            method: 'POST',
            url: `/v1/enrollments/${e.id}/confirmation`,
            idem: randomUUID(),
            payload: { carrierPolicyId: `POL-${e.id.slice(-6)}` },
            ...(s.asCarrier && carrier ? { apiKey: carrier.key } : {}),
            expect,
            rule: 'R12/R26',
          },
        ],
      };
    }
    case 'apply': {
      const unapplied = run.payments.filter((p) => run.snap.payments.get(p.id)?.status === 'unapplied');
      const p = pick(unapplied, s.payment);
      if (!p) return null;
      let payload: Record<string, string>;
      if (s.byInvoice) {
        const i = pick(run.invoices(), s.target);
        if (!i) return null;
        payload = { invoiceNumber: i.invoiceNumber };
      } else {
        const e = pick(run.enrollments, s.target);
        if (!e) return null;
        payload = { enrollmentId: e.id };
      }
      return {
        desc: `apply unapplied ${p.id} to ${JSON.stringify(payload)}`,
        steps: [
          {
            method: 'POST',
            url: `/v1/ops/unapplied-payments/${p.id}/application`,
            idem: randomUUID(),
            payload,
            expect: oneOf('200', '201', '422', '409'),
            rule: 'R23',
          },
        ],
      };
    }
    case 'bill': {
      const e = s.enrollment === null ? undefined : pick(run.enrollments, s.enrollment);
      const start = e && run.snap.enrollments.get(e.id)?.coverageStart;
      const coverageMonth = start ? addMonths(start, Math.max(0, s.offset)) : addMonths(run.today, s.offset);
      return {
        desc: `billing run ${coverageMonth}`,
        steps: [
          {
            method: 'POST',
            url: '/v1/billing-runs',
            idem: randomUUID(),
            payload: { coverageMonth },
            expect: oneOf('201', '200'),
            rule: 'R16',
          },
        ],
      };
    }
    case 'carrier': {
      const id = `pm${process.pid % 1000}-r${run.no}-${run.carriers.length}`;
      const name = `Pioneer Valley Health ${run.no} ${run.carriers.length}`;
      return {
        desc: `new carrier ${id}`,
        steps: [
          {
            method: 'POST',
            url: '/v1/carriers',
            idem: randomUUID(),
            payload: { id, name },
            expect: oneOf('201'),
            rule: 'carriers',
            after: (a) => {
              if (a.status === 201 && !run.carriers.some((c) => c.id === id)) run.carriers.push({ id, name });
            },
          },
        ],
      };
    }
    case 'sweep':
      return {
        desc: 'deadline sweep',
        steps: [
          { method: 'POST', url: '/v1/ops/deadline-sweeps', idem: randomUUID(), expect: oneOf('200'), rule: 'R10' },
        ],
      };
    case 'clock': {
      const target = clockTarget(run, s);
      return {
        desc: `clock ${s.kind} -> ${iso(target)} (business date ${businessDate(target)})`,
        steps: [
          {
            method: 'PUT',
            url: '/v1/ops/clock',
            payload: { now: iso(target) },
            expect: oneOf('200'),
            rule: 'service clock',
            after: () => {
              run.clockMs = target;
            },
          },
        ],
      };
    }
    case 'retry':
    case 'concurrent':
      return null;
  }
}

function clockTarget(run: Run, s: Extract<Spec, { t: 'clock' }>): number {
  const today = run.today;
  const day = Number(today.slice(8, 10));
  const thisMonth = `${today.slice(0, 8)}01`;
  let target: number;
  switch (s.kind) {
    case 'hours':
      target = run.clockMs + ((s.n % 71) + 1) * 3_600_000;
      break;
    case 'days':
      target = run.clockMs + ((s.n % 40) + 1) * 86_400_000 + (s.n % 1440) * 60_000;
      break;
    case 'after23': {
      const month = day < 24 ? thisMonth : addMonths(today, 1);
      target = nyInstant(`${month.slice(0, 8)}24`, 0, 5 + (s.n % 600));
      break;
    }
    case 'end23': {
      const month = day < 23 ? thisMonth : addMonths(today, 1);
      target = nyInstant(`${month.slice(0, 8)}23`, 23, 50);
      break;
    }
    case 'monthStart':
      target = nyInstant(addMonths(today, 1), 0, s.n % 720);
      break;
  }
  return target > run.clockMs ? target : run.clockMs + 3_600_000;
}

// ---------------------------------------------------------------------------------------------
// Execution

async function send(run: Run, req: Req): Promise<Answer> {
  const a = await run.client.send(req.method, req.url, {
    payload: req.payload,
    ...(req.idem ? { idempotencyKey: req.idem } : {}),
    ...(req.apiKey ? { key: req.apiKey } : {}),
  });
  logPost(run, req, a);
  return a;
}

/** Remembers a POST's definitive answer for retries (409 idempotency_key_in_flight is not one). */
function logPost(run: Run, req: Req, a: Answer) {
  if (req.method === 'POST' && req.idem && a.body?.code !== 'idempotency_key_in_flight') {
    run.posts.push({ req, answer: a, clockMs: run.clockMs });
  }
}

/** Runs a plan's steps in order; returns whether the last request was refused (4xx). */
async function execute(run: Run, p: Plan, strict: boolean): Promise<{ refused: boolean; answers: Answer[] }> {
  const answers: Answer[] = [];
  for (const req of p.steps) {
    const a = await send(run, req);
    answers.push(a);
    run.trace.push(`    -> ${a.status}${a.body?.code ? ` ${a.body.code}` : ''}${a.body?.id ? ` ${a.body.id}` : ''}`);
    const wrong = strict ? req.expect?.(a) : null;
    if (wrong) throw new Violation(`SPEC answer ${req.rule ?? ''}`.trim(), `${p.desc}: ${wrong}`);
    req.after?.(a);
    if (a.status >= 400) return { refused: true, answers };
  }
  return { refused: false, answers };
}

/** SPEC Idempotency: same key and body replay the original answer (`Idempotent-Replayed: true`). */
function checkReplay(desc: string, original: Answer, replay: Answer) {
  const why =
    replay.status !== original.status
      ? `status ${replay.status} (${replay.body?.code ?? ''}), original ${original.status}`
      : replay.headers['idempotent-replayed'] !== 'true'
        ? `no Idempotent-Replayed: true header`
        : original.status < 300 && !isDeepStrictEqual(replay.body, original.body)
          ? `a different body: ${JSON.stringify(replay.body).slice(0, 300)}; original ${JSON.stringify(original.body).slice(0, 300)}`
          : original.status >= 400 && replay.body?.code !== original.body?.code
            ? `code ${replay.body?.code}, original ${original.body?.code}`
            : null;
  if (why) throw new Violation('replay', `retry of ${desc} answered ${why}`);
}

async function runCommand(run: Run, s: Spec): Promise<void> {
  stats.commands++;
  const before = run.snap;
  let unchangedBecause: string | null = null;
  if (s.t === 'retry') {
    const eligible = retryable(run);
    const original = pick(eligible, s.post);
    if (!original) return;
    const desc = `${original.req.method} ${original.req.url} ${JSON.stringify(original.req.payload ?? null).slice(0, 200)} (first answered ${original.answer.status})`;
    run.trace.push(`retry ${desc}`);
    const replay = await run.client.send(original.req.method, original.req.url, {
      payload: original.req.payload,
      ...(original.req.idem ? { idempotencyKey: original.req.idem } : {}),
      ...(original.req.apiKey ? { key: original.req.apiKey } : {}),
    });
    run.trace.push(`    -> ${replay.status}${replay.body?.code ? ` ${replay.body.code}` : ''}`);
    checkReplay(desc, original.answer, replay);
    unchangedBecause = 'a replay';
  } else if (s.t === 'concurrent') {
    await runConcurrent(run, s);
  } else {
    const p = plan(run, s);
    if (!p) return;
    run.trace.push(p.desc);
    const { refused } = await execute(run, p, true);
    if (refused) unchangedBecause = 'a refused request';
  }
  const snap = await readSnapshot(run.client, run.world, run.clockMs);
  run.snap = snap;
  checkInvariants(snap, stats);
  if (unchangedBecause) {
    const diff = sameState(before, snap);
    stats.checks++;
    if (diff) throw new Violation('nothing changes', `after ${unchangedBecause}: ${diff}`);
  }
}

async function runConcurrent(run: Run, s: Extract<Spec, { t: 'concurrent' }>): Promise<void> {
  const plans = s.subs
    .filter((sub) => !SKIP.has(sub.t))
    .map((sub) => plan(run, sub))
    .filter((p): p is Plan => p !== null);
  if (plans.length === 0) return;
  run.trace.push(`concurrently: ${plans.map((p) => p.desc).join(' || ')}`);
  const single = plans.filter((p) => p.steps.length === 1 && p.steps[0]?.idem && !SKIP_RETRY?.test(p.steps[0].url));
  const dup = s.dup === null ? undefined : pick(single, s.dup);
  const tasks: Promise<unknown>[] = plans.map((p) => execute(run, p, false));
  let dupAnswers: Promise<[Answer, Answer]> | undefined;
  if (dup?.steps[0]) {
    const req = dup.steps[0];
    run.trace.push(`    and again with the same Idempotency-Key: ${dup.desc}`);
    const first = tasks[plans.indexOf(dup)] as Promise<{ answers: Answer[] }>;
    const second = run.client.send(req.method, req.url, {
      payload: req.payload,
      ...(req.idem ? { idempotencyKey: req.idem } : {}),
      ...(req.apiKey ? { key: req.apiKey } : {}),
    });
    dupAnswers = Promise.all([
      first.then((r) => r.answers[0] as Answer),
      second.then((a) => {
        logPost(run, req, a);
        req.after?.(a);
        return a;
      }),
    ]);
    tasks.push(dupAnswers);
  }
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  if (dupAnswers && dup) {
    const [a, b] = await dupAnswers;
    run.trace.push(`    same-key pair answered ${a.status} and ${b.status}${b.body?.code ? ` ${b.body.code}` : ''}`);
    const inFlight = (x: Answer) => x.status === 409 && x.body?.code === 'idempotency_key_in_flight';
    if (!inFlight(a) && !inFlight(b)) {
      const replayed = [a, b].filter((x) => x.headers['idempotent-replayed'] === 'true');
      const same =
        a.status === b.status && (a.status >= 400 ? a.body?.code === b.body?.code : isDeepStrictEqual(a.body, b.body));
      if (replayed.length !== 1 || !same) {
        throw new Violation(
          'replay',
          `two concurrent ${dup.desc.slice(0, 200)} with one Idempotency-Key answered ${a.status} ${JSON.stringify(a.body).slice(0, 200)} and ${b.status} ${JSON.stringify(b.body).slice(0, 200)} (replayed: ${replayed.length}); SPEC: a replay of the original or 409 idempotency_key_in_flight`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// fast-check wiring

class Command implements fc.AsyncCommand<Run, Run> {
  constructor(readonly spec: Spec) {}
  check(run: Readonly<Run>): boolean {
    const s = this.spec;
    if (SKIP.has(s.t)) return false;
    switch (s.t) {
      case 'pay':
        return s.route === 'mail_unmatched' || s.route === 'mail_unknown_slip' || run.enrollments.length > 0;
      case 'return':
        return run.payments.length > 0;
      case 'cancel':
      case 'confirm':
        return run.enrollments.length > 0;
      case 'apply':
        return run.payments.some((p) => run.snap.payments.get(p.id)?.status === 'unapplied');
      case 'retry':
        return retryable(run).length > 0;
      default:
        return true;
    }
  }
  run(_model: Run, run: Run): Promise<void> {
    return runCommand(run, this.spec);
  }
  toString(): string {
    return JSON.stringify(this.spec);
  }
}

const commandArb = fc.oneof(
  { weight: 3, arbitrary: checkoutArb },
  { weight: 8, arbitrary: payArb },
  { weight: 4, arbitrary: returnArb },
  { weight: 1, arbitrary: cancelArb },
  { weight: 2, arbitrary: confirmArb },
  { weight: 1, arbitrary: applyArb },
  { weight: 3, arbitrary: billArb },
  { weight: 1, arbitrary: sweepArb },
  { weight: 1, arbitrary: carrierArb },
  { weight: 4, arbitrary: clockArb },
  { weight: 2, arbitrary: retryArb },
  { weight: 2, arbitrary: concurrentArb },
);

// Every sequence starts at its own instant of 2027 (the clock is set back per sequence; earlier
// sequences' unconfirmed enrollments are cancelled so they leave later sweeps and runs) with one checkout.
const scenarioArb = fc.record({
  startDay: fc.nat(364),
  startMinute: fc.nat(1439),
  first: checkoutArb.map((c) => ({ ...c, newMember: true, start: c.start === 0 ? null : c.start })),
  commands: fc.commands([commandArb.map((s: Spec) => new Command(s))], { maxCommands: MAX_COMMANDS, size: 'max' }),
});

async function setup(startDay: number, startMinute: number): Promise<Run> {
  const start = nyInstant(addDays(START_YEAR_DAY0, startDay), Math.floor(startMinute / 60), startMinute % 60);
  const run = new Run(start);
  run.trace.push(`run ${run.no}: clock ${iso(start)} (business date ${businessDate(start)})`);
  const clock = await run.client.send('PUT', '/v1/ops/clock', { payload: { now: iso(start) } });
  if (clock.status !== 200) throw new TestBug(`setting the clock answered ${clock.status}`);
  return run;
}

/** Takes a finished sequence's enrollments out of later sequences' sweeps and runs where SPEC allows. */
async function retire(run: Run): Promise<void> {
  for (const e of run.enrollments) {
    const status = run.snap?.enrollments.get(e.id)?.status;
    if (status === 'pending_payment' || status === 'awaiting_confirmation') {
      await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/cancellation`, payload: {} }).catch(() => {});
    }
  }
}

// This file's tap timeout (package.json: 180 s) is too short when it shares two cores with three
// other files; its own work is unchanged.
t.setTimeout(TIME_BUDGET_MS + 30_000);

t.test('model-based invariants over interleaved and concurrent commands (I1-I5)', async (t) => {
  const began = Date.now();
  let lastFailure: { trace: string[]; error: unknown } | null = null;
  const property = fc.asyncProperty(scenarioArb, async ({ startDay, startMinute, first, commands }) => {
    stats.sequences++;
    let run: Run | undefined;
    try {
      run = await setup(startDay, startMinute);
      await runCommand(run, first);
      const r = run;
      await fc.asyncModelRun(() => ({ model: r, real: r }), commands);
    } catch (error) {
      if (error instanceof Violation) stats.violations.set(error.kind, (stats.violations.get(error.kind) ?? 0) + 1);
      lastFailure = { trace: run?.trace ?? [], error };
      throw error;
    } finally {
      if (run) await retire(run);
    }
  });
  const details = await fc.check(property, {
    seed: SEED,
    numRuns: NUM_RUNS,
    interruptAfterTimeLimit: TIME_BUDGET_MS,
    markInterruptAsFailure: true,
    ...(process.env.PROP_PATH ? { path: process.env.PROP_PATH } : {}),
  });
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  t.comment(`seed ${SEED}, numRuns ${NUM_RUNS}, up to ${MAX_COMMANDS} commands per sequence`);
  if (KNOBS.length)
    t.comment(`EXPLORATION: ${KNOBS.map((k) => `${k}=${process.env[k]}`).join(' ')} (not the committed check)`);
  t.comment(
    `summary: ${details.numRuns} sequences passed the generation phase, ${stats.sequences} sequences run (with shrinking), ` +
      `${stats.commands} commands, ${stats.requests} requests, ${stats.snapshots} state reads, ${stats.checks} invariant checks, ` +
      `violations (failing sequences by kind, shrinking included) ${[...stats.violations].map(([k, n]) => `${k} x${n}`).join(', ') || 0}, ${seconds} s`,
  );
  for (const [kind, example] of stats.examples) t.comment(`soft violation ${kind}: ${example}`);
  if (process.env.PROP_TIMING) {
    t.comment(
      [...stats.timing]
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `${k}: ${Math.round(ms)} ms`)
        .join('\n'),
    );
  }
  if (process.env.PROP_STATUSES) {
    t.comment(
      [...stats.statuses]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join('\n'),
    );
  }
  if (details.failed) {
    const failure = lastFailure as { trace: string[]; error: unknown } | null;
    const error = details.errorInstance ?? failure?.error;
    t.comment(
      `counterexample path ${details.counterexamplePath} (PROP_PATH replays it); shrinks ${details.numShrinks}`,
    );
    t.comment(`shrunk sequence: ${fc.stringify(details.counterexample)}`);
    t.comment(`trace of the last failing run:\n${failure?.trace.join('\n')}`);
    t.fail(
      details.interrupted && !details.counterexample
        ? `only ${details.numRuns} of ${NUM_RUNS} sequences ran within ${TIME_BUDGET_MS} ms`
        : `${error instanceof Error ? error.message : String(error)}`,
    );
  } else {
    t.pass(`${details.numRuns} sequences, no violation`);
  }
  t.ok(details.numRuns >= Math.min(NUM_RUNS, 200) || details.failed, 'at least 200 sequences ran');
});
