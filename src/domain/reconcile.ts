import type { BusinessCalendar } from './calendar.js';
import {
  type CoverageMove,
  type CreditedEnrollmentChange,
  type Enrollment,
  type HistoryEntry,
  markPaidInFull,
  missedDeadlineMoves,
  moveHistory,
  owesNothing,
  returnToPending,
} from './enrollment.js';
import { type Invoice, invoiceStatus } from './invoice.js';
import { InvoiceLedger } from './ledger.js';
import { type DomainEvent, type InvoiceChange, missedDeadlineEvents } from './settlement.js';

/**
 * Money moves within one enrollment that are not a new payment: a returned payment (R25) and a
 * recorded missed deadline (R10). Like `settle`, each is decided here from the locked enrollment and
 * its invoices (as stored) and written by the caller in one store call.
 */

/** What changes on one enrollment; `clearPaidInFull` resets R11's dates (a reopened binder). */
export type EnrollmentUpdate = CreditedEnrollmentChange;

export interface Reconciliation {
  enrollmentId: string;
  /** Voids come first: a binder may move into the month of an invoice voided here (I1). */
  invoices: InvoiceChange[];
  enrollment: EnrollmentUpdate | null;
  history: HistoryEntry[];
  events: DomainEvent[];
}

/**
 * Records the moves (R10) on the ledger: start, binder, voids and their money as credit (applied to
 * the binder first). Returns the enrollment as it stands afterwards and the credit change.
 */
function recordMoves(
  e: Enrollment,
  ledger: InvoiceLedger,
  moves: CoverageMove[],
  out: { history: HistoryEntry[]; events: DomainEvent[] },
): { enrollment: Enrollment; creditDeltaCents: number } {
  const last = moves.at(-1);
  if (!last) return { enrollment: e, creditDeltaCents: 0 };
  const freed = ledger.moveStart(last.to, last.at);
  out.history.push(...moveHistory(moves));
  out.events.push(...missedDeadlineEvents(e, moves));
  const used = ledger.applyCredit(e.creditCents + freed);
  return { enrollment: { ...e, coverageStart: last.to }, creditDeltaCents: freed - used };
}

/** R10: the sweep (or a cancellation) records the missed deadlines of a pending enrollment. */
export function decideMissedDeadlines(e: Enrollment, invoices: readonly Invoice[], now: Date): Reconciliation | null {
  const moves = missedDeadlineMoves(e.status, e.coverageStart, now, e.createdAt);
  if (moves.length === 0) return null;
  const ledger = new InvoiceLedger(invoices);
  const out = { history: [] as HistoryEntry[], events: [] as DomainEvent[] };
  const moved = recordMoves(e, ledger, moves, out);
  return {
    enrollmentId: e.id,
    invoices: ledger.list(),
    enrollment: { coverageStart: moved.enrollment.coverageStart, creditDeltaCents: moved.creditDeltaCents },
    history: out.history,
    events: out.events,
  };
}

export interface ReturnInput {
  /** Locked by the caller, as stored. */
  enrollment: Enrollment;
  /** All of the enrollment's invoices, read after the lock. */
  invoices: readonly Invoice[];
  /** The returned payment's live applications to this enrollment's invoices. */
  applications: readonly { invoiceId: string; amountCents: number }[];
  /** Credit the payment created on this enrollment (its overpayment). */
  creditedCents: number;
  paymentId: string;
  amountCents: number;
  reasonCode: string;
  now: Date;
  actor: string;
  calendar: BusinessCalendar;
}

/** A return being decided on one enrollment: where it stands, its ledger, its credit, the changes so far. */
interface ReturnDraft {
  e: Enrollment;
  ledger: InvoiceLedger;
  credit: number;
  update: EnrollmentUpdate;
  history: HistoryEntry[];
  events: DomainEvent[];
  common: { carrierId: string; memberId: string; enrollmentId: string; paymentId: string };
  /** Why, as history says it: `payment <id> returned (<code>)`. */
  reason: string;
}

/**
 * R25 for one enrollment: reverse the payment's applications and the credit it made (credit a
 * billing run already spent is taken back from the newest invoices that used it); a binder left
 * unpaid before confirmation reopens (pending_payment), and when its due date has passed the start
 * moves as R10 does, voiding the run-issued invoices it passes; an enrollment the carrier confirmed is flagged.
 * Credit left over pays what is still open, binder first (I3).
 */
/** R25: the carrier had confirmed it (it may have been terminated for non-payment since, R30). */
function carrierConfirmed(e: Enrollment): boolean {
  return e.status === 'confirmed' || (e.status === 'terminated' && e.statusBeforeTermination === 'confirmed');
}

export function decideReturn(input: ReturnInput): Reconciliation {
  const { now, paymentId, reasonCode } = input;
  const e = input.enrollment;
  const d: ReturnDraft = {
    e,
    ledger: new InvoiceLedger(input.invoices),
    credit: e.creditCents,
    update: { creditDeltaCents: 0 },
    history: [],
    events: [],
    common: { carrierId: e.carrierId, memberId: e.memberId, enrollmentId: e.id, paymentId },
    reason: `payment ${paymentId} returned (${reasonCode})`,
  };
  reverseApplications(d, input);
  // I3: money still held goes oldest first, also credit a billing run spent on a later month.
  if (!owesNothing(d.e.status)) d.ledger.rebalanceCredit();
  const binder = d.ledger.binder;
  const binderPaid = binder ? invoiceStatus(binder) === 'paid' : true;
  if (d.e.status === 'awaiting_confirmation' && !binderPaid) {
    reopenBinder(d, input);
  } else if (carrierConfirmed(d.e)) {
    // R25: the carrier had confirmed (the enrollment may be terminated since): ops and the carrier are told.
    d.update.addFlag = 'payment_returned';
    d.events.push({
      ...d.common,
      type: 'enrollment.flagged',
      occurredAt: now,
      data: { flag: 'payment_returned', reasonCode },
    });
  }
  if (!owesNothing(d.e.status)) d.credit -= d.ledger.applyCredit(d.credit);
  completeBinderFromCredit(d, input);
  d.update.creditDeltaCents = d.credit - d.e.creditCents;
  return {
    enrollmentId: d.e.id,
    invoices: d.ledger.list(),
    enrollment: d.update,
    history: d.history,
    events: d.events,
  };
}

/**
 * R25: the payment's applications on this enrollment are reversed; money paid on a void invoice had
 * become credit, and so had the payment's overpayment: that credit goes back too, from the credit
 * left first, then from the newest invoices a billing run paid with it.
 */
function reverseApplications(d: ReturnDraft, input: ReturnInput): void {
  let creditBack = input.creditedCents;
  for (const a of input.applications) {
    const inv = d.ledger.invoices.find((i) => i.id === a.invoiceId);
    if (!inv) continue;
    d.ledger.paid(inv, -a.amountCents);
    if (inv.voidedAt) creditBack += a.amountCents;
  }
  const fromCredit = Math.min(d.credit, creditBack);
  d.credit -= fromCredit;
  d.ledger.takeBackCredit(creditBack - fromCredit);
  d.events.push({
    ...d.common,
    type: 'payment.returned',
    occurredAt: input.now,
    data: { reasonCode: input.reasonCode, amountCents: input.amountCents },
  });
}

/**
 * R25 (R10): a binder left unpaid before confirmation reopens the enrollment (pending_payment); when
 * its due date has passed, the start moves as R10 does, as of now, and the money of the run-issued
 * invoices it voids is credit.
 */
function reopenBinder(d: ReturnDraft, input: ReturnInput): void {
  const { now, actor } = input;
  const change = returnToPending(d.e, now, actor, d.reason);
  d.e = { ...d.e, status: change.status };
  d.update.status = change.status;
  d.update.clearPaidInFull = true;
  d.history.push(change.history);
  d.events.push({
    ...d.common,
    type: 'enrollment.pending_payment',
    occurredAt: now,
    data: { reason: 'payment_returned', reasonCode: input.reasonCode },
  });
  const moves = missedDeadlineMoves(d.e.status, d.e.coverageStart, now, now);
  const last = moves.at(-1);
  if (!last) return;
  d.credit += d.ledger.moveStart(last.to, now);
  d.e = { ...d.e, coverageStart: last.to };
  d.update.coverageStart = d.e.coverageStart;
  d.history.push(...moveHistory(moves).map((h) => ({ ...h, reason: `${h.reason}; ${d.reason}` })));
  d.events.push(...missedDeadlineEvents(d.e, moves));
}

/** R11 (I3): credit alone can complete the reopened binder again (money the member paid on a voided month). */
function completeBinderFromCredit(d: ReturnDraft, input: ReturnInput): void {
  const { now, actor } = input;
  const after = d.ledger.binder;
  if (d.e.status !== 'pending_payment' || d.update.status !== 'pending_payment' || !after) return;
  if (invoiceStatus(after) !== 'paid') return;
  const paid = markPaidInFull(d.e, now, actor, input.calendar);
  Object.assign(d.update, {
    status: paid.status,
    clearPaidInFull: false,
    paidInFullAt: paid.paidInFullAt,
    confirmationExpectedBy: paid.confirmationExpectedBy,
    idCardExpectedBy: paid.idCardExpectedBy,
  });
  d.history.push({ ...paid.history, reason: 'binder paid in full from credit' });
  d.events.push({
    ...d.common,
    type: 'enrollment.awaiting_confirmation',
    occurredAt: now,
    invoiceId: after.id,
    data: {
      coverageStart: d.e.coverageStart,
      paidInFullAt: now.toISOString(),
      confirmationExpectedBy: paid.confirmationExpectedBy,
    },
  });
}
