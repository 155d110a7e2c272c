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

/** Status is recomputed from the sums, never stored twice (the database mirrors this rule). */
export function invoiceStatus(i: Pick<Invoice, 'voidedAt' | 'amountPaidCents' | 'amountDueCents'>): InvoiceStatus {
  if (i.voidedAt) return 'void';
  if (i.amountPaidCents >= i.amountDueCents) return 'paid';
  if (i.amountPaidCents > 0) return 'partially_paid';
  return 'open';
}

export function balanceCents(i: Pick<Invoice, 'voidedAt' | 'amountPaidCents' | 'amountDueCents'>): number {
  return i.voidedAt ? 0 : Math.max(0, i.amountDueCents - i.amountPaidCents);
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
