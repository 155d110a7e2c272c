import type { Account } from './accounts.js';
import { subscriberName } from './accounts.js';
import type { BusinessCalendar } from './calendar.js';
import { LOCKBOX_ADDRESS, type MailingAddressLines, PAYEE } from './channels.js';
import { businessDateOf, type IsoDate } from './dates.js';
import { paymentDueDate } from './deadlines.js';
import { type EnrollmentStatus, missedDeadlineMoves } from './enrollment.js';
import { scanLine } from './numbers.js';

export const INVOICE_STATUSES = ['open', 'partially_paid', 'paid', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];
export type Delivery = 'paperless' | 'mail';

export interface Invoice {
  id: string;
  invoiceNumber: string;
  enrollmentId: string;
  memberId: string;
  coverageMonth: IsoDate;
  dueDate: IsoDate;
  amountDueCents: number;
  amountPaidCents: number;
  creditAppliedCents: number;
  isBinder: boolean;
  delivery: Delivery;
  issuedAt: Date;
  voidedAt: Date | null;
}

/** What status, balance and "owes money" are decided from. */
export type InvoiceSums = Pick<Invoice, 'voidedAt' | 'amountPaidCents' | 'amountDueCents'>;

/**
 * R15: an invoice's status, recomputed from the sums, never stored twice. This is the one source of
 * what callers see; the database's generated `invoices.status` column mirrors it only as an index
 * and filter helper (`?status=`, "owes money" in SQL), checked against this function in
 * test/unit/owes-money-sql.test.ts.
 */
export function invoiceStatus(i: InvoiceSums): InvoiceStatus {
  if (i.voidedAt) return 'void';
  if (i.amountPaidCents >= i.amountDueCents) return 'paid';
  if (i.amountPaidCents > 0) return 'partially_paid';
  return 'open';
}

/** R15/I4: what is still owed on an invoice, never below 0; a void invoice owes nothing. */
export function balanceCents(i: InvoiceSums): number {
  return i.voidedAt ? 0 : Math.max(0, i.amountDueCents - i.amountPaidCents);
}

/** R15: a live invoice not paid in full (status `open` or `partially_paid`) has a balance. */
export function hasBalance(i: InvoiceSums): boolean {
  return balanceCents(i) > 0;
}

/**
 * R21/R22: an enrollment "owes money" when one of its invoices has a balance. The one definition:
 * settlement, credit (I3) and matching use it; the store's SQL filters that must find such
 * enrollments (`withBalance`, `byCarrierName`) mirror it and are checked against it.
 */
export function owesMoney(invoices: readonly InvoiceSums[]): boolean {
  return invoices.some(hasBalance);
}

/** R17: a mailed invoice arrives 3 to 5 business days after the business date of issue. */
export function expectedDelivery(
  i: Pick<Invoice, 'delivery' | 'issuedAt'>,
  calendar: BusinessCalendar,
): { earliest: IsoDate; latest: IsoDate } | undefined {
  if (i.delivery !== 'mail') return undefined;
  const issued = businessDateOf(i.issuedAt);
  return { earliest: calendar.addBusinessDays(issued, 3), latest: calendar.addBusinessDays(issued, 5) };
}

export interface PaymentSlip {
  payableTo: string;
  mailTo: MailingAddressLines;
  memberId: string;
  subscriberName: string;
  carrierName: string;
  invoiceNumber: string;
  amountDueCents: number;
  scanLine: string;
}

/** R18: the slip printed on the bill; its amount is the invoice's amount due, as on the paper. */
export function paymentSlip(
  i: Pick<Invoice, 'invoiceNumber' | 'amountDueCents' | 'memberId'>,
  account: Pick<Account, 'firstName' | 'lastName'>,
  carrierName: string,
): PaymentSlip {
  return {
    payableTo: PAYEE,
    mailTo: LOCKBOX_ADDRESS,
    memberId: i.memberId,
    subscriberName: subscriberName(account),
    carrierName,
    invoiceNumber: i.invoiceNumber,
    amountDueCents: i.amountDueCents,
    scanLine: scanLine(i.invoiceNumber, i.amountDueCents),
  };
}

/**
 * R10 on reads: an unpaid binder's month and due date follow the enrollment's projected start, and a
 * run-issued invoice of a month the start has passed (or moved into) shows as void, as the sweep will
 * record it (I1 on every read). The money on such an invoice shows as credit once the sweep records it.
 */
export function projectBinder<T extends Invoice>(
  i: T,
  enrollment: { status: EnrollmentStatus; coverageStart: IsoDate },
  now: Date,
): T {
  if (i.voidedAt) return i;
  const moves = missedDeadlineMoves(enrollment.status, enrollment.coverageStart, now);
  const last = moves.at(-1);
  if (!last) return i;
  if (i.isBinder) return { ...i, coverageMonth: last.to, dueDate: paymentDueDate(last.to) };
  return i.coverageMonth <= last.to ? { ...i, voidedAt: last.at } : i;
}

/** An invoice with what its slip and projection need from its enrollment, account and carrier. */
export interface InvoiceDetail extends Invoice {
  subscriber: { firstName: string; lastName: string };
  carrierId: string;
  carrierName: string;
  enrollment: { status: EnrollmentStatus; coverageStart: IsoDate };
}
