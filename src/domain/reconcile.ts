import type { BusinessCalendar } from './calendar.js';
import {
  type CoverageMove,
  type CreditedEnrollmentChange,
  type Enrollment,
  type HistoryEntry,
  markPaidInFull,
  missedDeadlineMoves,
  moveHistory,
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

/**
 * R25 for one enrollment: reverse the payment's applications and the credit it made (credit a
 * billing run already spent is taken back from the newest invoices that used it); a binder left
 * unpaid before confirmation reopens (pending_payment), and when its due date has passed the start
 * moves as R10 does, voiding the run-issued invoices it passes; a confirmed enrollment is flagged.
 * Credit left over pays what is still open, binder first (I3).
 */
export function decideReturn(input: ReturnInput): Reconciliation {
  const { now, actor, paymentId, reasonCode } = input;
  let e = input.enrollment;
  const ledger = new InvoiceLedger(input.invoices);
  const history: HistoryEntry[] = [];
  const events: DomainEvent[] = [];
  const common = { carrierId: e.carrierId, memberId: e.memberId, enrollmentId: e.id, paymentId };
  const update: EnrollmentUpdate = { creditDeltaCents: 0 };
  let credit = e.creditCents;

  // Reverse the applications; money paid on a void invoice had become credit: it goes back too.
  let creditBack = input.creditedCents;
  for (const a of input.applications) {
    const inv = ledger.invoices.find((i) => i.id === a.invoiceId);
    if (!inv) continue;
    ledger.paid(inv, -a.amountCents);
    if (inv.voidedAt) creditBack += a.amountCents;
  }
  const fromCredit = Math.min(credit, creditBack);
  credit -= fromCredit;
  ledger.takeBackCredit(creditBack - fromCredit);
  events.push({
    ...common,
    type: 'payment.returned',
    occurredAt: now,
    data: { reasonCode, amountCents: input.amountCents },
  });

  const binder = ledger.binder;
  const binderPaid = binder ? invoiceStatus(binder) === 'paid' : true;
  const reason = `payment ${paymentId} returned (${reasonCode})`;
  if (e.status === 'awaiting_confirmation' && !binderPaid) {
    const change = returnToPending(e, now, actor, reason);
    e = { ...e, status: change.status };
    update.status = change.status;
    update.clearPaidInFull = true;
    history.push(change.history);
    events.push({
      ...common,
      type: 'enrollment.pending_payment',
      occurredAt: now,
      data: { reason: 'payment_returned', reasonCode },
    });
    // R25: a reopened binder whose due date has passed moves the start as R10 does, as of now.
    const moves = missedDeadlineMoves(e.status, e.coverageStart, now, now);
    if (moves.length > 0) {
      const freed = ledger.moveStart((moves.at(-1) as CoverageMove).to, now);
      credit += freed;
      e = { ...e, coverageStart: (moves.at(-1) as CoverageMove).to };
      update.coverageStart = e.coverageStart;
      history.push(...moveHistory(moves).map((h) => ({ ...h, reason: `${h.reason}; ${reason}` })));
      events.push(...missedDeadlineEvents(e, moves));
    }
  } else if (e.status === 'confirmed') {
    update.addFlag = 'payment_returned';
    events.push({
      ...common,
      type: 'enrollment.flagged',
      occurredAt: now,
      data: { flag: 'payment_returned', reasonCode },
    });
  }

  if (e.status !== 'cancelled') credit -= ledger.applyCredit(credit);
  // Credit alone can complete the reopened binder again (money the member paid on a voided month).
  const after = ledger.binder;
  if (
    e.status === 'pending_payment' &&
    update.status === 'pending_payment' &&
    after &&
    invoiceStatus(after) === 'paid'
  ) {
    const paid = markPaidInFull(e, now, actor, input.calendar);
    update.status = paid.status;
    update.clearPaidInFull = false;
    update.paidInFullAt = paid.paidInFullAt;
    update.confirmationExpectedBy = paid.confirmationExpectedBy;
    update.idCardExpectedBy = paid.idCardExpectedBy;
    history.push({ ...paid.history, reason: 'binder paid in full from credit' });
    events.push({
      ...common,
      type: 'enrollment.awaiting_confirmation',
      occurredAt: now,
      invoiceId: after.id,
      data: {
        coverageStart: e.coverageStart,
        paidInFullAt: now.toISOString(),
        confirmationExpectedBy: paid.confirmationExpectedBy,
      },
    });
  }
  update.creditDeltaCents = credit - e.creditCents;
  return { enrollmentId: e.id, invoices: ledger.list(), enrollment: update, history, events };
}
