import type { MonthlyInvoice } from './billing.js';
import type { BusinessCalendar } from './calendar.js';
import { addMonths, businessDateOf, type IsoDate } from './dates.js';
import { effectiveCoverageStart, paymentDueDate } from './deadlines.js';
import {
  type CoverageMove,
  type CreditedEnrollmentChange,
  type Enrollment,
  type HistoryEntry,
  markPaidInFull,
  missedDeadlineMoves,
  moveHistory,
  owesNothing,
} from './enrollment.js';
import type { DomainEvent } from './events.js';
import { balanceCents, hasBalance, type Invoice, invoiceStatus } from './invoice.js';
import { InvoiceLedger } from './ledger.js';
import { type Allocation, allocate } from './payment.js';

export type { DomainEvent } from './events.js';

/** R10: the events that record missed-deadline moves (the sweep and payments write the same). */
export function missedDeadlineEvents(
  e: Pick<Enrollment, 'id' | 'carrierId' | 'memberId'>,
  moves: CoverageMove[],
): DomainEvent[] {
  return moves.map((m) => ({
    type: 'enrollment.coverage_start_moved',
    occurredAt: m.at,
    carrierId: e.carrierId,
    memberId: e.memberId,
    enrollmentId: e.id,
    data: { from: m.from, to: m.to },
  }));
}

export interface InvoiceChange {
  invoiceId: string;
  /** Added to the paid amount (credit applied included). */
  paidDeltaCents: number;
  /** Added to the credit applied (already counted in `paidDeltaCents`). */
  creditDeltaCents?: number;
  coverageMonth?: IsoDate;
  dueDate?: IsoDate;
  voidedAt?: Date;
}

export type { EnrollmentChange } from './enrollment.js';

/** Everything applying one payment to one enrollment changes, decided before anything is written. */
export interface Settlement {
  applications: { invoiceId: string; amountCents: number }[];
  creditedCents: number;
  invoices: InvoiceChange[];
  enrollment: CreditedEnrollmentChange | null;
  history: HistoryEntry[];
  events: DomainEvent[];
  /**
   * R10 with R16 (I1): regular invoices issued again because the start moved back past months a
   * billing run had billed and an earlier move had voided (written after the settlement's own changes).
   */
  reissued: MonthlyInvoice[];
}

export interface SettleInput {
  /** Locked by the caller, as stored (before any projection). */
  enrollment: Enrollment;
  /** All of the enrollment's invoices, as stored. */
  invoices: Invoice[];
  amountCents: number;
  paymentId: string;
  receivedAt: Date;
  now: Date;
  actor: string;
  calendar: BusinessCalendar;
  /** A payment naming one invoice pays only that invoice (the rest becomes credit). */
  onlyInvoiceId?: string | undefined;
}

/** A settlement being decided: the enrollment as it stands, its ledger, and what changes so far. */
interface Draft {
  e: Enrollment;
  ledger: InvoiceLedger;
  enrollment: CreditedEnrollmentChange;
  changed: boolean;
  history: HistoryEntry[];
  events: DomainEvent[];
  reissued: MonthlyInvoice[];
}

/**
 * R24 with R9-R11: apply money within one enrollment (never across), oldest open month first,
 * overpayment to credit; record missed deadlines first (R10); complete the binder when it is paid
 * in full, moving coverage to the first month whose due date the payment met.
 */
export function settle(input: SettleInput): Settlement {
  const d: Draft = {
    e: input.enrollment,
    ledger: new InvoiceLedger(input.invoices),
    enrollment: { creditDeltaCents: 0 },
    changed: false,
    history: [],
    events: [],
    reissued: [],
  };
  const creditFromMoves = recordMissedDeadlinesFirst(d, input.now);
  const allocation = payOpenInvoices(d, input);
  keepCredit(d, allocation.creditedCents + creditFromMoves, allocation.creditedCents);
  d.events.push({
    carrierId: d.e.carrierId,
    memberId: d.e.memberId,
    enrollmentId: d.e.id,
    type: 'payment.received',
    occurredAt: input.now,
    paymentId: input.paymentId,
    data: {
      amountCents: input.amountCents,
      invoiceIds: allocation.applications.map((a) => a.invoiceId),
      creditedCents: allocation.creditedCents,
    },
  });
  completeBinder(d, input);
  return {
    applications: allocation.applications,
    creditedCents: allocation.creditedCents,
    invoices: d.ledger.list(),
    enrollment: d.changed ? d.enrollment : null,
    history: d.history,
    events: d.events,
    reissued: d.reissued,
  };
}

/**
 * R10 (I1, I3): deadlines missed before this payment arrived are recorded first, as the sweep would:
 * the binder moves, run-issued invoices it passes are voided and their money is credit, applied at
 * once. Returns the credit change this makes.
 */
function recordMissedDeadlinesFirst(d: Draft, now: Date): number {
  const moves = missedDeadlineMoves(d.e.status, d.e.coverageStart, now, d.e.createdAt);
  const lastMove = moves.at(-1);
  if (!lastMove) return 0;
  d.e = { ...d.e, coverageStart: lastMove.to };
  d.enrollment.coverageStart = lastMove.to;
  d.changed = true;
  const freed = d.ledger.moveStart(lastMove.to, lastMove.at);
  const creditFromMoves = freed - d.ledger.applyCredit(d.e.creditCents + freed);
  d.history.push(...moveHistory(moves));
  d.events.push(...missedDeadlineEvents(d.e, moves));
  return creditFromMoves;
}

/**
 * R24: the money pays open invoices oldest month first; a payment naming one invoice (R21/R22)
 * pays only that one. What is left over is the allocation's credit.
 */
function payOpenInvoices(d: Draft, input: SettleInput): Allocation {
  // R24: money naming a cancelled or terminated enrollment is credit (R31 uses it). Money naming a
  // live invoice pays it: a terminated enrollment still owes its months up to coverageEnd.
  const open = d.ledger.invoices.filter((i) =>
    input.onlyInvoiceId === undefined
      ? !owesNothing(d.e.status) && hasBalance(i)
      : i.id === input.onlyInvoiceId && hasBalance(i),
  );
  const allocation = allocate(
    input.amountCents,
    open.map((i) => ({ id: i.id, coverageMonth: i.coverageMonth, balanceCents: balanceCents(i) })),
  );
  for (const a of allocation.applications) {
    d.ledger.change(a.invoiceId).paidDeltaCents += a.amountCents;
    const inv = d.ledger.invoices.find((i) => i.id === a.invoiceId);
    if (inv) inv.amountPaidCents += a.amountCents;
  }
  return allocation;
}

/**
 * I3: an overpayment is credit, and credit pays what is still open at once, oldest month first
 * (a payment naming one invoice leaves the others open; a cancelled enrollment owes nothing).
 */
function keepCredit(d: Draft, creditGainedCents: number, overpaidCents: number): void {
  const creditUsed = owesNothing(d.e.status) ? 0 : d.ledger.applyCredit(overpaidCents);
  const creditDelta = creditGainedCents - creditUsed;
  if (creditDelta !== 0) {
    d.enrollment.creditDeltaCents = creditDelta;
    d.changed = true;
  }
}

/**
 * R11 with R10: a pending enrollment whose binder is now paid in full awaits confirmation; its
 * coverage starts on the first month whose due date is on or after the payment's business date.
 */
function completeBinder(d: Draft, input: SettleInput): void {
  const { e } = d;
  const { now, receivedAt, actor } = input;
  const binder = d.ledger.invoices.find((i) => i.isBinder);
  if (e.status !== 'pending_payment' || !binder || invoiceStatus(binder) !== 'paid') return;
  const common = { carrierId: e.carrierId, memberId: e.memberId, enrollmentId: e.id };
  const paidOn = businessDateOf(receivedAt);
  const start = effectiveCoverageStart(e.chosenCoverageStart, paidOn);
  if (start !== e.coverageStart) {
    d.enrollment.coverageStart = start;
    moveBinder(d.ledger, start);
    if (start < e.coverageStart) reissueMonthsBetween(d, start, e.coverageStart);
    d.history.push({
      at: now,
      type: 'coverage_start_moved',
      from: e.coverageStart,
      to: start,
      reason: `binder paid in full on ${paidOn}`,
      actor,
    });
    d.events.push({
      ...common,
      type: 'enrollment.coverage_start_moved',
      occurredAt: now,
      data: { from: e.coverageStart, to: start },
    });
  }
  const paid = markPaidInFull(e, receivedAt, actor, input.calendar);
  Object.assign(d.enrollment, {
    status: paid.status,
    paidInFullAt: paid.paidInFullAt,
    confirmationExpectedBy: paid.confirmationExpectedBy,
    idCardExpectedBy: paid.idCardExpectedBy,
  });
  d.changed = true;
  d.history.push({ ...paid.history, at: now });
  d.events.push({
    ...common,
    type: 'enrollment.awaiting_confirmation',
    occurredAt: now,
    invoiceId: binder.id,
    data: {
      coverageStart: start,
      paidInFullAt: receivedAt.toISOString(),
      confirmationExpectedBy: paid.confirmationExpectedBy,
    },
  });
}

/**
 * R10 with R16 (I1, I3): the start moved back from `through` to `from` (a payment received in time
 * after a return had moved it forward): each month after `from` up to `through` that a billing run had
 * billed (its regular invoice was voided by the forward move) and that has no live invoice gets its
 * invoice again, for the amount billed, the enrollment's credit applied oldest first.
 */
function reissueMonthsBetween(d: Draft, from: IsoDate, through: IsoDate): void {
  let credit = d.e.creditCents + d.enrollment.creditDeltaCents;
  for (let month = addMonths(from, 1); month <= through; month = addMonths(month, 1)) {
    if (d.ledger.live().some((i) => i.coverageMonth === month)) continue;
    const billed = d.ledger.invoices.filter((i) => !i.isBinder && i.voidedAt && i.coverageMonth === month).at(-1);
    if (!billed) continue;
    const creditAppliedCents = Math.max(0, Math.min(credit, billed.amountDueCents));
    credit -= creditAppliedCents;
    d.reissued.push({
      enrollmentId: d.e.id,
      memberId: d.e.memberId,
      carrierId: d.e.carrierId,
      coverageMonth: month,
      dueDate: paymentDueDate(month),
      amountDueCents: billed.amountDueCents,
      creditAppliedCents,
      delivery: billed.delivery,
    });
  }
}

/** R10: the live binder moves to the new start month, with that month's due date. */
function moveBinder(ledger: InvoiceLedger, to: IsoDate): void {
  for (const inv of ledger.invoices) {
    if (!inv.isBinder || inv.voidedAt) continue;
    inv.coverageMonth = to;
    inv.dueDate = paymentDueDate(to);
    Object.assign(ledger.change(inv.id), { coverageMonth: inv.coverageMonth, dueDate: inv.dueDate });
  }
}
