import type { IsoDate } from './dates.js';
import { paymentDueDate } from './deadlines.js';
import { billableMonth } from './delinquency.js';
import { type EnrollmentStatus, isBillable } from './enrollment.js';
import type { Delivery } from './invoice.js';

/**
 * The billing run's decisions (R16, R17), one enrollment at a time, as pure functions: the store
 * locks the chunk's enrollments, the use case decides here, and the store writes the decided rows in
 * one statement (docs/decisions.md, "Billing decisions in the domain").
 */

/** What a billing run reads of one enrollment, locked and as last committed. */
export interface BillableEnrollment {
  id: string;
  memberId: string;
  carrierId: string;
  status: EnrollmentStatus;
  coverageStart: IsoDate;
  monthlyPremiumCents: number;
  creditCents: number;
  /** The account's paperless preference (R5). */
  paperless: boolean;
  /** R30: the last covered day of an enrollment terminated for non-payment (null otherwise). */
  coverageEnd: IsoDate | null;
}

/** One invoice a run issues, decided before it is written. */
export interface MonthlyInvoice {
  enrollmentId: string;
  memberId: string;
  carrierId: string;
  coverageMonth: IsoDate;
  dueDate: IsoDate;
  amountDueCents: number;
  /** Counts in the amount paid (R16) and comes off the enrollment's credit. */
  creditAppliedCents: number;
  delivery: Delivery;
}

/**
 * R16: a run bills an enrollment for a month when it is awaiting confirmation or confirmed and its
 * coverage has started by that month and has not ended before it (R30: nothing after `coverageEnd`).
 * (The store's chunk query pre-filters with the same condition.)
 */
export function isBilledFor(
  e: Pick<BillableEnrollment, 'status' | 'coverageStart'> & { coverageEnd?: IsoDate | null },
  month: IsoDate,
): boolean {
  return isBillable(e.status) && e.coverageStart <= month && billableMonth(month, e.coverageEnd);
}

/** R16: enrollment credit is applied to a new invoice first, up to its amount due (never below 0). */
export function creditFirst(creditCents: number, amountDueCents: number): number {
  return Math.max(0, Math.min(creditCents, amountDueCents));
}

/** R17: a paperless account sees the invoice at once; any other is mailed (see `expectedDelivery`). */
export function deliveryFor(paperless: boolean): Delivery {
  return paperless ? 'paperless' : 'mail';
}

/** R7: the binder invoice a checkout creates: the first coverage month, due per R1, delivered per R17. */
export function binderInvoice(
  e: { monthlyPremiumCents: number; coverageStart: IsoDate },
  paperless: boolean,
): { coverageMonth: IsoDate; dueDate: IsoDate; amountDueCents: number; delivery: Delivery } {
  return {
    coverageMonth: e.coverageStart,
    dueDate: paymentDueDate(e.coverageStart),
    amountDueCents: e.monthlyPremiumCents,
    delivery: deliveryFor(paperless),
  };
}

/** R16/R17 with R1: the invoice a run issues for one enrollment and month. */
export function monthlyInvoice(e: BillableEnrollment, month: IsoDate): MonthlyInvoice {
  const amountDueCents = e.monthlyPremiumCents;
  return {
    enrollmentId: e.id,
    memberId: e.memberId,
    carrierId: e.carrierId,
    coverageMonth: month,
    dueDate: paymentDueDate(month),
    amountDueCents,
    creditAppliedCents: creditFirst(e.creditCents, amountDueCents),
    delivery: deliveryFor(e.paperless),
  };
}

/**
 * R16: the invoices a run issues for a chunk of locked enrollments. "Exactly once per enrollment and
 * month" is the store's live-invoice key (an invoice already issued is skipped there, I1), not a
 * read here: only the key holds against a concurrent run.
 */
export function monthlyInvoices(enrollments: readonly BillableEnrollment[], month: IsoDate): MonthlyInvoice[] {
  return enrollments.filter((e) => isBilledFor(e, month)).map((e) => monthlyInvoice(e, month));
}
