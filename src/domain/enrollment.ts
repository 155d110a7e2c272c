import type { BusinessCalendar } from './calendar.js';
import { addDays, addMonths, businessDateOf, type IsoDate, isFirstOfMonth, startOfBusinessDay } from './dates.js';
import { earliestCoverageStart, isByDueDate, paymentDueDate } from './deadlines.js';
import {
  canBeDelinquent,
  type Delinquency,
  delinquencyAsOf,
  type EnrollmentFacts,
  type InvoiceFacts,
  invoicesToVoidOnTermination,
  type RecordedDelinquency,
  type RestorableStatus,
  type Standing,
  type Subsidy,
} from './delinquency.js';
import { DomainError } from './errors.js';
import type { Invoice } from './invoice.js';
import type { Principal, Role } from './principal.js';

export const ENROLLMENT_STATUSES = [
  'pending_payment',
  'awaiting_confirmation',
  'confirmed',
  'cancelled',
  'terminated',
] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

/** R6: health and dental are separate enrollments (separate invoices and payments). */
export const COVERAGE_TYPES = ['health', 'dental'] as const;
export type CoverageType = (typeof COVERAGE_TYPES)[number];

export const ENROLLMENT_FLAGS = ['payment_returned'] as const;
export type EnrollmentFlag = (typeof ENROLLMENT_FLAGS)[number];

/** Exhaustive: adding a status is a compile error until it is placed here. */
const CANCELLABLE = {
  pending_payment: true,
  awaiting_confirmation: true,
  confirmed: false,
  cancelled: false,
  terminated: false,
} as const satisfies Record<EnrollmentStatus, boolean>;

/** R16/I2: a billing run never bills a cancelled (or not yet paid) enrollment. */
const BILLABLE = {
  pending_payment: false,
  awaiting_confirmation: true,
  confirmed: true,
  cancelled: false,
  /** R30: a terminated enrollment is billed for nothing (`billableMonth` guards reinstated ones). */
  terminated: false,
} as const satisfies Record<EnrollmentStatus, boolean>;

/** R24/I3: money on a cancelled or terminated enrollment is credit; it pays no invoice. */
export function owesNothing(status: EnrollmentStatus): boolean {
  return status === 'cancelled' || status === 'terminated';
}

export function isCancellable(status: EnrollmentStatus): boolean {
  return CANCELLABLE[status];
}

/** R16: statuses a billing run issues invoices for. */
export function isBillable(status: EnrollmentStatus): boolean {
  return BILLABLE[status];
}

export const BILLABLE_STATUSES = ENROLLMENT_STATUSES.filter(isBillable);

/** R14: the two kinds of history entry: status changes (from/to statuses) and start moves (from/to dates). */
export type HistoryType = 'status_changed' | 'coverage_start_moved' | 'delinquency_changed';

/** R14: every status change and date move is kept with time, actor and reason. */
export interface HistoryEntry {
  at: Date;
  type: HistoryType;
  from: string | null;
  to: string;
  reason: string | null;
  /** The API key id that made the change, or SYSTEM_ACTOR. */
  actor: string;
  /** The role of that key, when read back (null for the system or a key no longer known). */
  actorRole?: Role | null;
}

/** R6: one plan for one account: coverage type, carrier, plan name, monthly premium and coverage start. */
export interface Enrollment {
  id: string;
  memberId: string;
  carrierId: string;
  coverageType: CoverageType;
  planName: string;
  monthlyPremiumCents: number;
  status: EnrollmentStatus;
  /** The start the member chose at checkout (R10: coverage never starts earlier). */
  chosenCoverageStart: IsoDate;
  /** The start as last recorded; reads project it to the service clock (see `projectEnrollment`). */
  coverageStart: IsoDate;
  selectedAt: Date;
  binderInvoiceId: string | null;
  /** The primary subscriber, as carriers need it to set up the policy. */
  subscriber: { firstName: string; lastName: string };
  paidInFullAt: Date | null;
  confirmationExpectedBy: IsoDate | null;
  idCardExpectedBy: IsoDate | null;
  confirmedAt: Date | null;
  carrierPolicyId: string | null;
  cancelledAt: Date | null;
  creditCents: number;
  flags: EnrollmentFlag[];
  createdAt: Date;
  history: HistoryEntry[];
  /** R28. */
  subsidy: Subsidy;
  /** R30: set while terminated for non-payment. */
  coverageEnd: IsoDate | null;
  terminationReason: string | null;
  terminatedAt: Date | null;
  /** R30's business date of the termination (R31's window counts from it). */
  terminatedOn: IsoDate | null;
  statusBeforeTermination: RestorableStatus | null;
  /** R29: the episode the sweep last recorded (null: none recorded). */
  recordedDelinquency: RecordedDelinquency | null;
}

/**
 * What a use case changes on one enrollment, in domain terms; the store maps it to columns (no caller
 * names a column). Only the fields given change: `creditDeltaCents` is added to the stored credit,
 * `addFlag` adds a flag once, and `clearPaidInFull` resets R11's dates (a binder a return reopened).
 */
export interface EnrollmentChange {
  status?: EnrollmentStatus;
  coverageStart?: IsoDate;
  paidInFullAt?: Date;
  confirmationExpectedBy?: IsoDate;
  idCardExpectedBy?: IsoDate;
  clearPaidInFull?: boolean;
  confirmedAt?: Date;
  carrierPolicyId?: string | null;
  cancelledAt?: Date;
  creditDeltaCents?: number;
  addFlag?: EnrollmentFlag;
  /** R29: the episode now recorded (null: good standing). */
  recordedDelinquency?: RecordedDelinquency | null;
  /** R30. */
  termination?: {
    coverageEnd: IsoDate;
    reason: string;
    terminatedAt: Date;
    terminatedOn: IsoDate;
    statusBefore: RestorableStatus;
  };
  /** R31: coverageEnd and the termination fields are cleared. */
  clearTermination?: boolean;
}

/** A change that always states its credit change (0 when none): what settlements and returns decide. */
export type CreditedEnrollmentChange = EnrollmentChange & { creditDeltaCents: number };

export const SYSTEM_ACTOR = 'system';

/**
 * The history actor a caller may see. Ops and connector systems see API key ids; a carrier sees its
 * own key's id and everyone else only by role (`ops`, `connector`, `carrier`, `system`): the ids of
 * other principals' keys are not the carrier's business.
 */
export function actorSeenBy(viewer: Principal, h: Pick<HistoryEntry, 'actor' | 'actorRole'>): string {
  if (viewer.role !== 'carrier' || h.actor === viewer.keyId) return h.actor;
  if (h.actor === SYSTEM_ACTOR) return SYSTEM_ACTOR;
  return h.actorRole ?? 'unknown';
}
/** R7/R8: the coverage start a checkout gets, decided by the business date of `selectedAt`. */
export function checkoutCoverageStart(requested: IsoDate | undefined, selectedAt: Date): IsoDate {
  const businessDate = businessDateOf(selectedAt);
  const earliest = earliestCoverageStart(businessDate);
  if (requested === undefined) return earliest;
  if (!isFirstOfMonth(requested)) {
    throw new DomainError('invalid_coverage_start', `Coverage starts on the first day of a month, not ${requested}.`);
  }
  if (!isByDueDate(businessDate, paymentDueDate(requested))) {
    throw new DomainError(
      'deadline_passed',
      `The payment due date for a ${requested} start was ${paymentDueDate(requested)}; the earliest start now is ${earliest}.`,
      { earliestCoverageStart: earliest },
    );
  }
  return requested;
}

export interface CoverageMove {
  from: IsoDate;
  to: IsoDate;
  at: Date;
}

/**
 * R10: while the binder is unpaid, each due date that passes moves the start one month forward,
 * at the first instant of the business day after the due date. Deterministic, so the sweep that
 * records the moves and a read that projects them agree exactly.
 */
export function missedDeadlineMoves(
  status: EnrollmentStatus,
  coverageStart: IsoDate,
  now: Date,
  notBefore?: Date,
): CoverageMove[] {
  if (status !== 'pending_payment') return [];
  const today = businessDateOf(now);
  const moves: CoverageMove[] = [];
  let start = coverageStart;
  while (!isByDueDate(today, paymentDueDate(start))) {
    const to = addMonths(start, 1);
    const at = startOfBusinessDay(addDays(paymentDueDate(start), 1));
    // A checkout recorded after the deadline (selected in time, received late) moves when it is recorded.
    moves.push({ from: start, to, at: notBefore && notBefore > at ? notBefore : at });
    start = to;
  }
  return moves;
}

/** R10/R14: the history entries of recorded missed-deadline moves (actor: the system). */
export function moveHistory(moves: CoverageMove[]): HistoryEntry[] {
  return moves.map((m) => ({
    at: m.at,
    type: 'coverage_start_moved',
    from: m.from,
    to: m.to,
    reason: `binder not paid in full by ${paymentDueDate(m.from)}`,
    actor: SYSTEM_ACTOR,
  }));
}

export interface EnrollmentProjection extends Enrollment {
  paymentDueDate: IsoDate;
  confirmationOverdue: boolean;
  /** R29 as of the service clock (null: good standing, or a status that cannot be delinquent). */
  delinquency: Delinquency | null;
}

/** What a read's projection needs of a recorded enrollment (R10, R12, R29, R30). */
export type ProjectionInput = Pick<
  Enrollment,
  | 'status'
  | 'coverageStart'
  | 'createdAt'
  | 'confirmationExpectedBy'
  | 'subsidy'
  | 'coverageEnd'
  | 'monthlyPremiumCents'
  | 'creditCents'
  | 'recordedDelinquency'
>;

/**
 * The fields a read shows differently from the recorded enrollment as of `now` (see
 * `projectEnrollment`); a page of enrollments applies it to its own lean rows.
 */
export interface ReadProjection {
  status: EnrollmentStatus;
  coverageStart: IsoDate;
  paymentDueDate: IsoDate;
  confirmationOverdue: boolean;
  creditCents: number;
  delinquency: Delinquency | null;
  /** History entries the read shows after the recorded ones (R10's moves, R30's termination). */
  addedHistory: readonly HistoryEntry[];
  /** R30: a termination the sweep has not recorded yet, as it will record it (null: the recorded fields stand). */
  termination: {
    coverageEnd: IsoDate;
    reason: string;
    terminatedAt: Date;
    terminatedOn: IsoDate;
    statusBefore: RestorableStatus;
  } | null;
}

const NO_HISTORY: readonly HistoryEntry[] = Object.freeze([]);

/**
 * What a read shows as of `now`: missed deadlines applied even if the sweep has not run yet (R10),
 * and the non-payment standing computed from the facts and the recorded episode (R29/R30): a
 * termination the sweep has not recorded yet already shows, exactly as the sweep will record it.
 * `invoices` are the enrollment's invoice facts, oldest month first.
 */
export function readProjection(e: ProjectionInput, now: Date, invoices: readonly InvoiceFacts[]): ReadProjection {
  const moves = missedDeadlineMoves(e.status, e.coverageStart, now, e.createdAt);
  const coverageStart = moves.at(-1)?.to ?? e.coverageStart;
  const added = moves.length ? moveHistory(moves) : NO_HISTORY;
  const base: ReadProjection = {
    status: e.status,
    coverageStart,
    paymentDueDate: paymentDueDate(coverageStart),
    confirmationOverdue: isConfirmationOverdue(e, now),
    creditCents: e.creditCents,
    delinquency: null,
    addedHistory: added,
    termination: null,
  };
  const standing = standingOfFacts(e, invoices, now);
  if (standing === null) return base;
  if (!('terminate' in standing)) return { ...base, delinquency: standing };
  const t = standing.terminate;
  const terminatedAt = startOfBusinessDay(t.terminatedOn);
  // R30: what was paid on the months after coverageEnd is credit, as the sweep will record it.
  const freed = invoicesToVoidOnTermination(invoices, t.coverageEnd).creditCents;
  return {
    ...base,
    creditCents: e.creditCents + freed,
    status: 'terminated',
    confirmationOverdue: false, // R12: only an enrollment awaiting confirmation is overdue
    addedHistory: [...added, statusChange(e.status, 'terminated', terminatedAt, SYSTEM_ACTOR, t.reason)],
    termination: {
      coverageEnd: t.coverageEnd,
      reason: t.reason,
      terminatedAt,
      terminatedOn: t.terminatedOn,
      statusBefore: e.status as RestorableStatus,
    },
  };
}

/** The enrollment as a read shows it as of `now` (`readProjection` applied to it). */
export function projectEnrollment(e: Enrollment, now: Date, invoices: readonly Invoice[]): EnrollmentProjection {
  const p = readProjection(e, now, invoiceFacts(invoices));
  const projected: EnrollmentProjection = {
    ...e,
    status: p.status,
    coverageStart: p.coverageStart,
    paymentDueDate: p.paymentDueDate,
    confirmationOverdue: p.confirmationOverdue,
    creditCents: p.creditCents,
    delinquency: p.delinquency,
    history: p.addedHistory.length ? [...e.history, ...p.addedHistory] : e.history,
  };
  const t = p.termination;
  if (!t) return projected;
  return {
    ...projected,
    coverageEnd: t.coverageEnd,
    terminationReason: t.reason,
    terminatedAt: t.terminatedAt,
    terminatedOn: t.terminatedOn,
    statusBeforeTermination: t.statusBefore,
    recordedDelinquency: null,
  };
}

/** The facts of invoices as the non-payment engine reads them. */
export function invoiceFacts(invoices: readonly Invoice[]): InvoiceFacts[] {
  return invoices.map((i) => ({
    coverageMonth: i.coverageMonth,
    dueDate: i.dueDate,
    amountDueCents: i.amountDueCents,
    amountPaidCents: i.amountPaidCents,
    voided: i.voidedAt !== null,
  }));
}

/** R29/R30: the facts of one enrollment as the non-payment engine reads them. */
export function standingFacts(e: Enrollment, invoices: readonly Invoice[]): EnrollmentFacts {
  return factsOf(e, invoiceFacts(invoices));
}

function factsOf(e: ProjectionInput, invoices: readonly InvoiceFacts[]): EnrollmentFacts {
  return {
    status: e.status,
    subsidy: e.subsidy,
    coverageStart: e.coverageStart,
    coverageEnd: e.coverageEnd,
    monthlyPremiumCents: e.monthlyPremiumCents,
    creditCents: e.creditCents,
    invoices,
  };
}

/** R29/R30: the standing on `now`'s business date, from the facts and the recorded episode. */
export function standingOf(e: Enrollment, invoices: readonly Invoice[], now: Date): Standing {
  return standingOfFacts(e, invoiceFacts(invoices), now);
}

function standingOfFacts(e: ProjectionInput, invoices: readonly InvoiceFacts[], now: Date): Standing {
  if (!canBeDelinquent(e.status)) return null;
  return delinquencyAsOf({
    facts: factsOf(e, invoices),
    recorded: e.recordedDelinquency,
    today: businessDateOf(now),
  });
}

export function isConfirmationOverdue(e: Pick<Enrollment, 'status' | 'confirmationExpectedBy'>, now: Date): boolean {
  return (
    e.status === 'awaiting_confirmation' &&
    e.confirmationExpectedBy !== null &&
    businessDateOf(now) > e.confirmationExpectedBy
  );
}

/** R12: business days past `confirmationExpectedBy` as of `now` (0 when not overdue). */
export function businessDaysOverdue(
  e: Pick<Enrollment, 'status' | 'confirmationExpectedBy'>,
  now: Date,
  calendar: BusinessCalendar,
): number {
  if (!isConfirmationOverdue(e, now) || !e.confirmationExpectedBy) return 0;
  return calendar.businessDaysAfter(e.confirmationExpectedBy, businessDateOf(now));
}

/** R14: the history entry of a status change. */
function statusChange(
  from: EnrollmentStatus | null,
  to: EnrollmentStatus,
  at: Date,
  actor: string,
  reason: string | null,
) {
  return { at, type: 'status_changed' as const, from, to, reason, actor };
}

function refuse(
  e: Pick<Enrollment, 'status' | 'id'>,
  code: 'not_cancellable' | 'not_awaiting_confirmation' | 'invalid_transition',
  expected: EnrollmentStatus[],
) {
  return new DomainError(code, `Enrollment ${e.id} is ${e.status}; expected ${expected.join(' or ')}.`, {
    currentState: e.status,
    expectedStates: expected,
  });
}

export function created(at: Date, actor: string): HistoryEntry {
  return statusChange(null, 'pending_payment', at, actor, 'checkout');
}

/**
 * R13: cancel before confirmation. A repeated cancellation changes nothing (returns null). I2: the
 * caller voids every live invoice of the enrollment with it (`InvoiceStore.voidForCancellation`), and
 * a billing run that races it waits for the enrollment's lock and then sees it cancelled.
 */
export function cancel(e: Enrollment, at: Date, actor: string, reason: string | undefined) {
  if (e.status === 'cancelled') return null;
  if (!isCancellable(e.status)) throw refuse(e, 'not_cancellable', ['pending_payment', 'awaiting_confirmation']);
  return {
    status: 'cancelled' as const,
    cancelledAt: at,
    history: statusChange(e.status, 'cancelled', at, actor, reason ?? 'cancelled'),
  };
}

/** R11: the binder is paid in full. */
export function markPaidInFull(e: Enrollment, paidAt: Date, actor: string, calendar: BusinessCalendar) {
  if (e.status !== 'pending_payment') throw refuse(e, 'invalid_transition', ['pending_payment']);
  const paidOn = businessDateOf(paidAt);
  return {
    status: 'awaiting_confirmation' as const,
    paidInFullAt: paidAt,
    confirmationExpectedBy: calendar.addBusinessDays(paidOn, 5),
    idCardExpectedBy: addDays(paidOn, 14),
    history: statusChange('pending_payment', 'awaiting_confirmation', paidAt, actor, 'binder paid in full'),
  };
}

/** R12: the carrier confirms. Confirming a confirmed enrollment again changes nothing (null). */
export function confirm(e: Enrollment, at: Date, actor: string) {
  if (e.status === 'confirmed') return null;
  if (e.status !== 'awaiting_confirmation') throw refuse(e, 'not_awaiting_confirmation', ['awaiting_confirmation']);
  return {
    status: 'confirmed' as const,
    confirmedAt: at,
    history: statusChange('awaiting_confirmation', 'confirmed', at, actor, 'confirmed by carrier'),
  };
}

/** R25: a returned payment left the binder unpaid before the carrier confirmed. */
export function returnToPending(e: Enrollment, at: Date, actor: string, reason: string) {
  if (e.status !== 'awaiting_confirmation') throw refuse(e, 'invalid_transition', ['awaiting_confirmation']);
  return {
    status: 'pending_payment' as const,
    history: statusChange('awaiting_confirmation', 'pending_payment', at, actor, reason),
  };
}
