/**
 * Helpers for the non-payment HTTP tests (issue 13; SPEC R28-R31 with R1, R10, R13, R16, R24, R25
 * and I1-I5). They drive the service only over HTTP with the test clock, and write the business
 * calendar out from SPEC (New York business dates, R1 due dates) rather than importing src/.
 *
 * The story every scenario starts from is the Connector's own example: a member checks out in
 * October 2025 for coverage from 2025-11-01, pays the binder, is confirmed by the carrier, is billed
 * for December on 2025-11-01 and pays it, and is billed for January on 2025-12-01. Bills are
 * generated on the 1st of the month before coverage (the Connector's practice), so every invoice
 * "due by then" exists when a stage begins.
 */
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { TestContext } from './app.js';
import { billingRunOk, type InvoiceJson, invoicesOfEnrollment, sweep } from './billing.js';
import { type EnrollmentJson, newEnrollment, setClock } from './factories.js';
import { iso, nyInstant } from './model.js';
import { bankAccount, check, type PaymentJson, payOk } from './payments.js';
import { expectStatus } from './responses.js';
import { moneyViolations } from './safety.js';

export const PREMIUM = 45000;

export type Subsidy = 'none' | 'aptc' | 'connectorcare';
export type Stage = 'past_due' | 'termination_warning' | 'final_termination_warning';

export interface Delinquency {
  stage: Stage;
  firstUnpaidMonth: string;
  payBy: string;
  amountOwedCents: number;
  monthsOwed: string[];
}

export interface NpEnrollment extends EnrollmentJson {
  subsidy?: Subsidy;
  delinquency?: Delinquency | null;
  coverageEnd?: string | null;
  terminationReason?: string | null;
  terminatedAt?: string | null;
}

export interface NoticeJson {
  id: string;
  type: string;
  memberId: string;
  enrollmentId: string;
  status: string;
  createdAt: string;
  payBy?: string;
  amountOwedCents?: number;
  monthsOwed?: string[];
  coverageEnd?: string;
  [k: string]: unknown;
}

export interface FeedEvent {
  id: string;
  type: string;
  occurredAt: string;
  data: Record<string, unknown> & { enrollmentId?: string };
}

/** The RFC 3339 instant of a New York wall-clock time (EST/EDT handled by the zone, not by hand). */
export const ny = (date: string, hour = 0, minute = 0): string => iso(nyInstant(date, hour, minute));

/** Sets the service clock to a New York wall-clock time. */
export const at = (ctx: TestContext, date: string, hour = 0, minute = 0) => setClock(ctx, ny(date, hour, minute));

/** An online checking payment (the member pays now, at the service clock). */
export const bank = (amountCents: number, target: Record<string, unknown>) => ({
  channel: 'online',
  method: 'checking',
  amountCents,
  ...target,
  ...bankAccount(),
});

/** A lockbox check received at `receivedAt` with the bill's slip for `invoiceNumber` (R22, R2). */
export const mailCheck = (amountCents: number, receivedAt: string, invoiceNumber: string) => ({
  channel: 'mail',
  method: 'check',
  amountCents,
  receivedAt,
  slip: { invoiceNumber },
  ...check(),
});

/** Pays `amountCents` naming the enrollment (R24: oldest open invoice first, the rest credit). */
export function payEnrollment(ctx: TestContext, enrollmentId: string, amountCents: number): Promise<PaymentJson> {
  return payOk(ctx, bank(amountCents, { enrollmentId }));
}

export async function view(ctx: TestContext, id: string, key?: string): Promise<NpEnrollment> {
  const res = await ctx.request({ method: 'GET', url: `/v1/enrollments/${id}`, ...(key ? { key } : {}) });
  expectStatus(res, 200);
  return res.json() as NpEnrollment;
}

export async function notices(ctx: TestContext, memberId: string, type?: string): Promise<NoticeJson[]> {
  const res = await ctx.request({
    method: 'GET',
    url: `/v1/notices?memberId=${memberId}${type ? `&type=${type}` : ''}`,
  });
  expectStatus(res, 200);
  return (res.json() as { data: NoticeJson[] }).data;
}

/** `GET /v1/enrollments?delinquency=...` (R29), narrowed to one member. */
export async function listByDelinquency(ctx: TestContext, filter: string, memberId: string): Promise<NpEnrollment[]> {
  const res = await ctx.request({ method: 'GET', url: `/v1/enrollments?delinquency=${filter}&memberId=${memberId}` });
  expectStatus(res, 200);
  return (res.json() as { data: NpEnrollment[] }).data;
}

export function reinstate(ctx: TestContext, id: string, key?: string): Promise<LightMyRequestResponse> {
  return ctx.request({
    method: 'POST',
    url: `/v1/enrollments/${id}/reinstatement`,
    payload: {},
    ...(key ? { key } : {}),
  });
}

/** Runs the deadline sweep and insists it failed on nothing (I5). */
export async function sweepOk(ctx: TestContext): Promise<void> {
  const res = await sweep(ctx);
  if (res.enrollmentsFailed !== 0) throw new Error(`sweep failed on ${res.enrollmentsFailed} enrollments`);
}

/**
 * Confirmed members on the seed calendar: checkout on 2025-10-10 for coverage from 2025-11-01
 * (due 2025-10-23), binder paid in full at once, confirmed by ops for the carrier; December billed
 * on 2025-11-01 and paid on 2025-11-10. The clock is left at 2025-11-10 (New York).
 */
export async function confirmedMembers(
  ctx: TestContext,
  specs: { carrierId?: string; subsidy?: Subsidy | undefined }[],
): Promise<NpEnrollment[]> {
  await at(ctx, '2025-10-10', 10);
  const out: NpEnrollment[] = [];
  for (const spec of specs) {
    const e = (await newEnrollment(ctx, {
      coverageStart: '2025-11-01',
      ...(spec.carrierId ? { carrierId: spec.carrierId } : {}),
      ...(spec.subsidy ? { subsidy: spec.subsidy } : {}),
    })) as NpEnrollment;
    await payEnrollment(ctx, e.id, PREMIUM);
    const res = await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/confirmation`, payload: {} });
    expectStatus(res, 200);
    out.push(e);
  }
  await at(ctx, '2025-11-01', 9);
  await billingRunOk(ctx, '2025-12-01');
  await at(ctx, '2025-11-10', 10);
  for (const e of out) await payEnrollment(ctx, e.id, PREMIUM); // December, paid before 2025-11-23
  return out;
}

/**
 * The calendar after setup: billing runs on the 1st at 09:00 for the next month, and a deadline
 * sweep at 01:00 on each day after a pay-by date (the 24th). `to` runs every step before the target
 * instant, in order, and then sets the clock to the target.
 */
export class Calendar {
  private readonly steps: { at: string; run: () => Promise<void> }[];
  private next = 0;

  constructor(
    private readonly ctx: TestContext,
    opts: { sweeps?: boolean; skipRuns?: string[] } = {},
  ) {
    const steps: { at: string; run: () => Promise<void> }[] = [];
    const months = ['2026-01-01', '2026-02-01', '2026-03-01', '2026-04-01', '2026-05-01'];
    const firsts = ['2025-12-01', '2026-01-01', '2026-02-01', '2026-03-01', '2026-04-01'];
    months.forEach((month, i) => {
      const first = firsts[i] as string;
      if (!opts.skipRuns?.includes(month)) steps.push({ at: ny(first, 9), run: () => billingRunOk(ctx, month) });
    });
    if (opts.sweeps !== false) {
      for (const d of ['2025-12-24', '2026-01-24', '2026-02-24', '2026-03-24', '2026-04-24']) {
        steps.push({ at: ny(d, 1), run: () => sweepOk(ctx) });
      }
    }
    this.steps = steps.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  }

  /** Runs every calendar step before (or at) the New York time given, then sets the clock there. */
  async to(date: string, hour = 0, minute = 0): Promise<void> {
    const target = Date.parse(ny(date, hour, minute));
    while (this.next < this.steps.length) {
      const step = this.steps[this.next] as { at: string; run: () => Promise<void> };
      if (Date.parse(step.at) > target) break;
      await setClock(this.ctx, step.at);
      await step.run();
      this.next++;
    }
    await setClock(this.ctx, ny(date, hour, minute));
  }
}

/** Follows the events feed with `key` from the start until `until` holds (or 8 s pass). */
export async function feed(
  ctx: TestContext,
  key: string,
  until: (seen: FeedEvent[]) => boolean = () => true,
): Promise<FeedEvent[]> {
  const seen: FeedEvent[] = [];
  let cursor: string | undefined;
  const deadline = Date.now() + 8_000;
  for (;;) {
    const res = await ctx.request({
      method: 'GET',
      url: `/v1/events?limit=500${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`,
      key,
    });
    expectStatus(res, 200);
    const body = res.json() as { data: FeedEvent[]; nextCursor: string };
    seen.push(...body.data);
    cursor = body.nextCursor;
    if (body.data.length === 0) {
      if (until(seen) || Date.now() > deadline) return seen;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export const NONPAYMENT_TYPES = [
  'enrollment.delinquent',
  'enrollment.delinquency_cured',
  'enrollment.terminated',
  'enrollment.reinstated',
];

/** The non-payment events of one enrollment as the ops key sees them on the feed, in feed order. */
export async function nonpaymentEvents(
  ctx: TestContext,
  enrollmentId: string,
  expected = 0,
  key = ctx.opsKey,
): Promise<FeedEvent[]> {
  const mine = (seen: FeedEvent[]) =>
    seen.filter((e) => e.data.enrollmentId === enrollmentId && NONPAYMENT_TYPES.includes(e.type));
  return mine(await feed(ctx, key, (seen) => mine(seen).length >= expected));
}

/**
 * I1-I4 over HTTP (and the money check of test/helpers/safety.ts): one live invoice per month; a
 * terminated enrollment has no live invoice after its coverageEnd and a cancelled one none open; credit
 * never beside a balance for an enrollment that is neither; amounts add up. Returns the violations.
 */
export async function invariantViolations(ctx: TestContext, enrollmentIds: string[]): Promise<string[]> {
  const out: string[] = [];
  const members: string[] = [];
  for (const id of enrollmentIds) {
    const e = await view(ctx, id);
    members.push(e.memberId);
    const invoices: InvoiceJson[] = await invoicesOfEnrollment(ctx, id);
    const live = invoices.filter((i) => i.status !== 'void');
    const months = live.map((i) => i.coverageMonth);
    if (new Set(months).size !== months.length) out.push(`I1: ${id} has two live invoices for one month: ${months}`);
    // A void invoice owes nothing (balance 0, R15): the balance rule is for live invoices.
    for (const i of live) {
      if (i.balanceCents !== i.amountDueCents - i.amountPaidCents || i.balanceCents < 0) {
        out.push(`I4: invoice ${i.invoiceNumber} balance ${i.balanceCents} != due - paid`);
      }
    }
    if (e.status === 'terminated') {
      if (!e.coverageEnd) out.push(`R30: terminated ${id} has no coverageEnd`);
      for (const i of live) {
        if (e.coverageEnd && i.coverageMonth > e.coverageEnd) {
          out.push(`I2: terminated ${id} has a live invoice for ${i.coverageMonth} after ${e.coverageEnd}`);
        }
      }
    } else if (e.status === 'cancelled') {
      for (const i of live) {
        if (i.status === 'open' || i.status === 'partially_paid') out.push(`I2: cancelled ${id} has ${i.status}`);
      }
    } else if (e.creditCents > 0 && live.some((i) => i.balanceCents > 0)) {
      out.push(`I3: ${id} has credit ${e.creditCents} beside a balance`);
    }
  }
  out.push(...(await moneyViolations(ctx, members)));
  return out;
}

/**
 * Every invoice of an enrollment as `[coverageMonth, status, amountPaidCents]`, by month; a void
 * invoice shows `null` for the amount (SPEC moves its money to credit and does not say what the void
 * invoice then shows as paid).
 */
export async function invoiceTable(ctx: TestContext, id: string): Promise<[string, string, number | null][]> {
  return (await invoicesOfEnrollment(ctx, id))
    .map((i): [string, string, number | null] => [
      i.coverageMonth,
      i.status,
      i.status === 'void' ? null : i.amountPaidCents,
    ])
    .sort((a, b) => (a[0] === b[0] ? a[1].localeCompare(b[1]) : a[0].localeCompare(b[0])));
}

/** The one invoice of a month that is not void (undefined when there is none). */
export async function liveInvoiceOf(ctx: TestContext, id: string, month: string): Promise<InvoiceJson | undefined> {
  return (await invoicesOfEnrollment(ctx, id)).find((i) => i.coverageMonth === month && i.status !== 'void');
}

/** The business date (New York) of an RFC 3339 instant. */
export function businessDateOf(instant: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/New_York',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(instant));
}

/** One confirmed member (binder November 2025, December paid) who never pays January. */
export async function unpaidJanuary(ctx: TestContext, subsidy: Subsidy = 'none') {
  const [e0] = await confirmedMembers(ctx, [{ subsidy }]);
  return e0 as NpEnrollment;
}

export interface HistoryJson {
  at: string;
  type: string;
  from: string | null;
  to: string;
  actor: string;
}

export const historyOf = (e: NpEnrollment) => (e as unknown as { history: HistoryJson[] }).history;

export function chronological(t: Test, e: NpEnrollment, label: string): void {
  const times = historyOf(e).map((h) => Date.parse(h.at));
  t.same(
    times,
    [...times].sort((a, b) => a - b),
    `${label}: history is in time order (${historyOf(e).map((h) => `${h.to}@${h.at}`)})`,
  );
}
