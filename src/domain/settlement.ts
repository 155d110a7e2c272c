import type { BusinessCalendar } from './calendar.js';
import { businessDateOf, type IsoDate } from './dates.js';
import { effectiveCoverageStart, paymentDueDate } from './deadlines.js';
import {
  type CoverageMove,
  type CreditedEnrollmentChange,
  type Enrollment,
  type HistoryEntry,
  markPaidInFull,
  missedDeadlineMoves,
  moveHistory,
} from './enrollment.js';
import type { DomainEvent } from './events.js';
import { balanceCents, hasBalance, type Invoice, invoiceStatus } from './invoice.js';
import { InvoiceLedger } from './ledger.js';
import { allocate } from './payment.js';

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

/**
 * R24 with R9-R11: apply money within one enrollment (never across), oldest open month first,
 * overpayment to credit; record missed deadlines first (R10); complete the binder when it is paid
 * in full, moving coverage to the first month whose due date the payment met.
 */
export function settle(input: SettleInput): Settlement {
  const { now, receivedAt, actor } = input;
  let e = input.enrollment;
  const ledger = new InvoiceLedger(input.invoices);
  const invoices = ledger.invoices;
  const change = (invoiceId: string): InvoiceChange => ledger.change(invoiceId);
  const enrollment: CreditedEnrollmentChange = { creditDeltaCents: 0 };
  let enrollmentChanged = false;
  const history: HistoryEntry[] = [];
  const events: DomainEvent[] = [];
  const common = { carrierId: e.carrierId, memberId: e.memberId, enrollmentId: e.id };
  const moveBinder = (to: IsoDate) => {
    for (const inv of invoices) {
      if (!inv.isBinder || inv.voidedAt) continue;
      inv.coverageMonth = to;
      inv.dueDate = paymentDueDate(to);
      Object.assign(change(inv.id), { coverageMonth: inv.coverageMonth, dueDate: inv.dueDate });
    }
  };

  // R10: deadlines missed before this payment arrived are recorded first, as the sweep would.
  const moves = missedDeadlineMoves(e.status, e.coverageStart, now, e.createdAt);
  const lastMove = moves.at(-1);
  let creditFromMoves = 0;
  if (lastMove) {
    e = { ...e, coverageStart: lastMove.to };
    enrollment.coverageStart = lastMove.to;
    enrollmentChanged = true;
    // The binder moves; run-issued invoices it passes are voided and their money is credit (I1, I3).
    const freed = ledger.moveStart(lastMove.to, lastMove.at);
    creditFromMoves = freed - ledger.applyCredit(e.creditCents + freed);
    history.push(...moveHistory(moves));
    events.push(...missedDeadlineEvents(e, moves));
  }

  const open = invoices.filter(
    (i) => hasBalance(i) && (input.onlyInvoiceId === undefined || i.id === input.onlyInvoiceId),
  );
  const allocation = allocate(
    input.amountCents,
    open.map((i) => ({ id: i.id, coverageMonth: i.coverageMonth, balanceCents: balanceCents(i) })),
  );
  for (const a of allocation.applications) {
    change(a.invoiceId).paidDeltaCents += a.amountCents;
    const inv = invoices.find((i) => i.id === a.invoiceId);
    if (inv) inv.amountPaidCents += a.amountCents;
  }
  // I3: an overpayment is credit, and credit pays what is still open at once, oldest month first
  // (a payment naming one invoice leaves the others open; a cancelled enrollment owes nothing).
  const creditUsed = e.status === 'cancelled' ? 0 : ledger.applyCredit(allocation.creditedCents);
  const creditDelta = allocation.creditedCents + creditFromMoves - creditUsed;
  if (creditDelta !== 0) {
    enrollment.creditDeltaCents = creditDelta;
    enrollmentChanged = true;
  }
  events.push({
    ...common,
    type: 'payment.received',
    occurredAt: now,
    paymentId: input.paymentId,
    data: {
      amountCents: input.amountCents,
      invoiceIds: allocation.applications.map((a) => a.invoiceId),
      creditedCents: allocation.creditedCents,
    },
  });

  const binder = invoices.find((i) => i.isBinder);
  if (e.status === 'pending_payment' && binder && invoiceStatus(binder) === 'paid') {
    const paidOn = businessDateOf(receivedAt);
    // R10: coverage starts on the first month whose due date is on or after the payment's business date.
    const start = effectiveCoverageStart(e.chosenCoverageStart, paidOn);
    if (start !== e.coverageStart) {
      enrollment.coverageStart = start;
      moveBinder(start);
      history.push({
        at: now,
        type: 'coverage_start_moved',
        from: e.coverageStart,
        to: start,
        reason: `binder paid in full on ${paidOn}`,
        actor,
      });
      events.push({
        ...common,
        type: 'enrollment.coverage_start_moved',
        occurredAt: now,
        data: { from: e.coverageStart, to: start },
      });
    }
    const paid = markPaidInFull(e, receivedAt, actor, input.calendar);
    Object.assign(enrollment, {
      status: paid.status,
      paidInFullAt: paid.paidInFullAt,
      confirmationExpectedBy: paid.confirmationExpectedBy,
      idCardExpectedBy: paid.idCardExpectedBy,
    });
    enrollmentChanged = true;
    history.push({ ...paid.history, at: now });
    events.push({
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

  return {
    applications: allocation.applications,
    creditedCents: allocation.creditedCents,
    invoices: ledger.list(),
    enrollment: enrollmentChanged ? enrollment : null,
    history,
    events,
  };
}
