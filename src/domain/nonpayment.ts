import type { MonthlyInvoice } from './billing.js';
import { deliveryFor } from './billing.js';
import { businessDateOf, type IsoDate, startOfBusinessDay } from './dates.js';
import { paymentDueDate } from './deadlines.js';
import {
  balanceThroughCoverageEnd,
  billableMonth,
  canBeDelinquent,
  decideReinstatement,
  invoicesToVoidOnTermination,
  type NonPaymentNotice,
  type ReinstatementDecision,
  type RestorableStatus,
  recordOf,
  reinstatementMonths,
  type StageTransition,
  stageTransitions,
  standingKind,
} from './delinquency.js';
import { type Enrollment, type HistoryEntry, SYSTEM_ACTOR, standingFacts, standingOf } from './enrollment.js';
import { DomainError } from './errors.js';
import type { DomainEvent } from './events.js';
import { balanceCents, hasBalance, type Invoice } from './invoice.js';
import type { Reconciliation } from './reconcile.js';

/**
 * Non-payment (R29-R31) as writes: what the sweep (and every write that changes the facts) records
 * for one locked enrollment, and what a reinstatement changes. The rules are `delinquency.ts`; this
 * module only turns its named transitions into the enrollment change, history, events and notices.
 */

/** One recording of the standing: the reconciliation to write and the notices to queue, in order. */
export interface StandingRecord {
  transitions: StageTransition[];
  reconciliation: Reconciliation;
  notices: NonPaymentNotice[];
}

/** How a write records the standing (the sweep uses the defaults). */
export interface StandingOptions {
  /**
   * R2: judge the standing on this instant's business date instead of `now`'s: a payment is judged
   * as of its `receivedAt`, so money received by the pay-by date cures even when it is posted after
   * midnight. Never after `now`; a later stage already recorded is kept (episodes only walk forward).
   */
  asOf?: Date;
  /**
   * R14: a termination is never dated before the write that caused it. A return that leaves months
   * unpaid after their last pay-by date terminates as of the return, not as of a date on which the
   * enrollment was paid (or had just been reinstated).
   */
  notBefore?: Date;
  /** R14: the API key of the request that records it (the sweep: `system`). */
  actor?: string;
}

/**
 * R29/R30: compare what is recorded with what the facts show on `now`'s business date (or `asOf`'s);
 * null when nothing changes (the second sweep, or any sweep after a payment recorded it, is a no-op).
 */
export function decideStanding(
  e: Enrollment,
  invoices: readonly Invoice[],
  now: Date,
  opts: StandingOptions = {},
): StandingRecord | null {
  // A cancelled (or terminated) enrollment has no standing: an episode recorded before is moot, not cured.
  if (!canBeDelinquent(e.status)) return null;
  const asOf = opts.asOf && opts.asOf < now ? opts.asOf : now;
  const computed = standingOf(e, invoices, asOf);
  const transitions = stageTransitions(e.recordedDelinquency, computed, e.status);
  if (transitions.length === 0) return null;
  const common = { carrierId: e.carrierId, memberId: e.memberId, enrollmentId: e.id };
  const r: Reconciliation = {
    enrollmentId: e.id,
    invoices: [],
    enrollment: { creditDeltaCents: 0, recordedDelinquency: recordOf(computed) },
    history: [],
    events: [],
  };
  const notices: NonPaymentNotice[] = [];
  for (const step of transitions) {
    const t = step.kind === 'terminated' ? datedNotBefore(step, opts.notBefore) : step;
    const at = t.kind === 'terminated' ? terminationInstant(t.termination.terminatedOn, opts.notBefore) : now;
    r.history.push({ ...t.history, at, actor: opts.actor ?? SYSTEM_ACTOR } satisfies HistoryEntry);
    r.events.push({ ...common, type: t.event.type, occurredAt: now, data: { ...t.event.data } } satisfies DomainEvent);
    if (t.kind !== 'cured') notices.push(t.notice);
    if (t.kind === 'terminated') terminate(r, e, invoices, t, at);
  }
  return { transitions, reconciliation: r, notices };
}

/** R30 with R14: the termination's business date, moved up to the causing write's date when that is later. */
function datedNotBefore(
  t: Extract<StageTransition, { kind: 'terminated' }>,
  notBefore: Date | undefined,
): Extract<StageTransition, { kind: 'terminated' }> {
  if (!notBefore || startOfBusinessDay(t.termination.terminatedOn) >= notBefore) return t;
  return { ...t, termination: { ...t.termination, terminatedOn: businessDateOf(notBefore) } };
}

/** The instant a termination is recorded at: the start of its business date, or the causing write's instant. */
function terminationInstant(terminatedOn: IsoDate, notBefore: Date | undefined): Date {
  const start = startOfBusinessDay(terminatedOn);
  return notBefore && notBefore > start ? notBefore : start;
}

/** R30: status, termination fields, and the invoices after `coverageEnd` voided (their money to credit). */
function terminate(
  r: Reconciliation,
  e: Enrollment,
  invoices: readonly Invoice[],
  t: Extract<StageTransition, { kind: 'terminated' }>,
  at: Date,
): void {
  const facts = standingFacts(e, invoices).invoices.map((f, i) => ({ ...f, id: (invoices[i] as Invoice).id }));
  const voided = invoicesToVoidOnTermination(facts, t.termination.coverageEnd);
  r.invoices.push(...voided.invoices.map((v) => ({ invoiceId: v.invoice.id, paidDeltaCents: 0, voidedAt: at })));
  r.enrollment = {
    ...r.enrollment,
    status: 'terminated',
    creditDeltaCents: voided.creditCents,
    termination: {
      coverageEnd: t.termination.coverageEnd,
      reason: t.termination.reason,
      terminatedAt: at,
      terminatedOn: t.termination.terminatedOn,
      statusBefore: e.status as RestorableStatus,
    },
  };
}

/** What a reinstatement writes: the enrollment back, the reissued invoices paid from credit. */
export interface Reinstatement {
  reconciliation: Reconciliation;
  reissued: MonthlyInvoice[];
}

/**
 * R31: decided on the locked enrollment and its invoices; a refusal is a DomainError with its code
 * (`not_reinstatable`, `reinstatement_window_closed`, `reinstatement_payment_required`).
 */
export function reinstate(
  e: Enrollment,
  invoices: readonly Invoice[],
  now: Date,
  by: { actor: string; reason: string; paperless: boolean },
): Reinstatement {
  const { actor, reason, paperless } = by;
  const decision = decideReinstatement({
    status: e.status,
    terminationReason: e.terminationReason,
    terminatedOn: e.terminatedOn ?? businessDateOf(now),
    today: businessDateOf(now),
    coverageEnd: e.coverageEnd ?? businessDateOf(now),
    monthlyPremiumCents: e.monthlyPremiumCents,
    creditCents: e.creditCents,
    balanceThroughCoverageEndCents: e.coverageEnd
      ? balanceThroughCoverageEnd(standingFacts(e, invoices).invoices, e.coverageEnd)
      : 0,
    statusBeforeTermination: e.statusBeforeTermination ?? 'confirmed',
  });
  if (!decision.ok) throw refusal(e, decision);
  const open = invoices.filter(
    (i) => i.voidedAt === null && hasBalance(i) && e.coverageEnd && i.coverageMonth <= e.coverageEnd,
  );
  const paidOpen = open.reduce((sum, i) => sum + balanceCents(i), 0);
  const reissued = decision.months.map((m) => ({
    enrollmentId: e.id,
    memberId: e.memberId,
    carrierId: e.carrierId,
    coverageMonth: m.coverageMonth,
    dueDate: m.dueDate,
    amountDueCents: m.amountDueCents,
    creditAppliedCents: m.amountDueCents,
    delivery: deliveryFor(paperless),
  }));
  const common = { carrierId: e.carrierId, memberId: e.memberId, enrollmentId: e.id };
  return {
    reissued,
    reconciliation: {
      enrollmentId: e.id,
      invoices: open.map((i) => ({
        invoiceId: i.id,
        paidDeltaCents: balanceCents(i),
        creditDeltaCents: balanceCents(i),
      })),
      // The reissued invoices take their credit as they are inserted (`insertMonthly`).
      enrollment: {
        status: decision.restoredStatus,
        clearTermination: true,
        recordedDelinquency: null,
        creditDeltaCents: -paidOpen,
      },
      history: [
        {
          at: now,
          type: 'status_changed',
          from: 'terminated',
          to: decision.restoredStatus,
          reason,
          actor,
        },
      ],
      events: [
        {
          ...common,
          type: 'enrollment.reinstated',
          occurredAt: now,
          data: {
            status: decision.restoredStatus,
            amountRequiredCents: decision.amountRequiredCents,
            coverageMonths: decision.months.map((m) => m.coverageMonth),
          },
        },
      ],
    },
  };
}

/**
 * R2 with R30: money whose business date is before a recorded termination's date was paid in time;
 * the termination was recorded on facts that lacked it. The enrollment goes back to its status before
 * the termination (as a reinstatement, reason `paid_by_pay_by_date`): what is still open up to
 * `coverageEnd` and the months from `coverageEnd` through the month after today are paid from the
 * money that arrived in time as far as it goes, oldest first (the months it does not reach stay open, and the non-payment
 * rules judge them from there). The caller keeps this only when the standing then shows no
 * termination as of the termination's date; R31's window and amount do not apply.
 */
export function restoreForPaymentInTime(
  e: Enrollment,
  invoices: readonly Invoice[],
  now: Date,
  by: { actor: string; paperless: boolean; paidInTimeCents: number; receivedAt: Date },
): Reinstatement | null {
  if (e.status !== 'terminated' || !e.coverageEnd || !e.statusBeforeTermination || !e.terminatedOn) return null;
  // Only money that arrived in time decides: this payment's credit, and what the termination itself
  // freed (paid on the months it voided). Credit from money received after the termination does not.
  const terminatedAt = e.terminatedAt?.getTime();
  const freed = invoices
    .filter((i) => i.voidedAt !== null && i.voidedAt.getTime() === terminatedAt)
    .reduce((sum, i) => sum + i.amountPaidCents, 0);
  const months = reinstatementMonths(e.coverageEnd, businessDateOf(now));
  const restored: Enrollment = {
    ...e,
    status: e.statusBeforeTermination,
    coverageEnd: null,
    recordedDelinquency: null,
    creditCents: 0,
  };
  const inTime = fundRestoredMonths(e, invoices, months, Math.min(e.creditCents, by.paidInTimeCents + freed));
  const terminates = (at: Date) => standingKind(standingOf(restored, inTime.facts, at)) === 'terminate';
  if (terminates(startOfBusinessDay(e.terminatedOn)) || terminates(by.receivedAt)) return null;
  // Kept: all the credit pays what is open, oldest first (I3), not only the money that came in time.
  const plan = fundRestoredMonths(e, invoices, months, e.creditCents);
  const paidOpen = plan.open.reduce((sum, c) => sum + c.paidDeltaCents, 0);
  const restoredStatus = e.statusBeforeTermination;
  const reason = 'paid_by_pay_by_date';
  return {
    reissued: plan.reissued.map((m) => ({
      enrollmentId: e.id,
      memberId: e.memberId,
      carrierId: e.carrierId,
      coverageMonth: m.coverageMonth,
      dueDate: m.dueDate,
      amountDueCents: m.amountDueCents,
      creditAppliedCents: m.creditAppliedCents,
      delivery: deliveryFor(by.paperless),
    })),
    reconciliation: {
      enrollmentId: e.id,
      invoices: plan.open.map((c) => ({ ...c, creditDeltaCents: c.paidDeltaCents })),
      enrollment: {
        status: restoredStatus,
        clearTermination: true,
        recordedDelinquency: null,
        creditDeltaCents: -paidOpen,
      },
      history: [{ at: now, type: 'status_changed', from: 'terminated', to: restoredStatus, reason, actor: by.actor }],
      events: [
        {
          carrierId: e.carrierId,
          memberId: e.memberId,
          enrollmentId: e.id,
          type: 'enrollment.reinstated',
          occurredAt: now,
          data: { status: restoredStatus, reason, coverageMonths: months },
        },
      ],
    },
  };
}

/** Pays what is open up to `coverageEnd`, then the reissued months, from `budgetCents`, oldest first. */
function fundRestoredMonths(
  e: Enrollment,
  invoices: readonly Invoice[],
  months: readonly IsoDate[],
  budgetCents: number,
) {
  let left = budgetCents;
  const take = (cents: number) => {
    const used = Math.min(left, cents);
    left -= used;
    return used;
  };
  const open = invoices
    .filter((i) => i.voidedAt === null && hasBalance(i) && e.coverageEnd && i.coverageMonth <= e.coverageEnd)
    .sort((a, b) => a.coverageMonth.localeCompare(b.coverageMonth))
    .map((i) => ({ invoice: i, invoiceId: i.id, paidDeltaCents: take(balanceCents(i)) }));
  const reissued = months.map((coverageMonth) => ({
    coverageMonth,
    dueDate: paymentDueDate(coverageMonth),
    amountDueCents: e.monthlyPremiumCents,
    creditAppliedCents: take(e.monthlyPremiumCents),
  }));
  const paid = new Map(open.map((c) => [c.invoiceId, c.paidDeltaCents]));
  // The facts the engine reads: live invoices with what they would hold, the voided ones gone.
  const facts: Invoice[] = [
    ...invoices
      .filter((i) => i.voidedAt === null)
      .map((i) => ({ ...i, amountPaidCents: i.amountPaidCents + (paid.get(i.id) ?? 0) })),
    ...reissued.map((m) => ({
      ...(invoices[0] as Invoice),
      id: `restored:${m.coverageMonth}`,
      coverageMonth: m.coverageMonth,
      dueDate: m.dueDate,
      amountDueCents: m.amountDueCents,
      amountPaidCents: m.creditAppliedCents,
      voidedAt: null,
    })),
  ];
  return {
    open: open
      .filter((c) => c.paidDeltaCents > 0)
      .map(({ invoiceId, paidDeltaCents }) => ({ invoiceId, paidDeltaCents })),
    reissued,
    facts,
  };
}

function refusal(e: Enrollment, d: Exclude<ReinstatementDecision, { ok: true }>): DomainError {
  switch (d.code) {
    case 'not_reinstatable':
      return new DomainError('not_reinstatable', `Enrollment ${e.id} is ${e.status}, not terminated for non-payment.`, {
        currentState: e.status,
      });
    case 'reinstatement_window_closed':
      return new DomainError(
        'reinstatement_window_closed',
        `The reinstatement window closed after ${d.windowClosedAfter}.`,
        { windowClosedAfter: d.windowClosedAfter },
      );
    case 'reinstatement_payment_required':
      return new DomainError(
        'reinstatement_payment_required',
        `Reinstatement needs ${d.amountRequiredCents} cents of credit; ${d.shortfallCents} cents are missing.`,
        { amountRequiredCents: d.amountRequiredCents, shortfallCents: d.shortfallCents },
      );
  }
}

/** What invoice reads need of a termination that a read projects (R30). */
export interface ProjectedTermination {
  coverageEnd: IsoDate;
  terminatedAt: Date;
}

/** R30 on reads: the termination a read of the enrollment shows, or null (none, or already recorded). */
export function projectedTermination(
  e: Enrollment,
  invoices: readonly Invoice[],
  now: Date,
): ProjectedTermination | null {
  const standing = standingOf(e, invoices, now);
  if (standing === null || !('terminate' in standing)) return null;
  return {
    coverageEnd: standing.terminate.coverageEnd,
    terminatedAt: startOfBusinessDay(standing.terminate.terminatedOn),
  };
}

/** R30 on reads: a live invoice of a month after a projected `coverageEnd` shows void, as the sweep will record it. */
export function projectTermination<T extends Invoice>(i: T, t: ProjectedTermination | null | undefined): T {
  if (!t || i.voidedAt || billableMonth(i.coverageMonth, t.coverageEnd)) return i;
  return { ...i, voidedAt: t.terminatedAt };
}
