import type { BusinessCalendar } from './calendar.js';
import { addDays, businessDateOf, type IsoDate, startOfBusinessDay } from './dates.js';
import { DomainError } from './errors.js';
import { scanLineVerdict } from './matching.js';
import { readScanLine } from './numbers.js';
import {
  type PaymentRequest,
  type PaymentTarget,
  payableToConnector,
  paymentTarget,
  type Remittance,
} from './payment.js';
import { businessTimestamp } from './timestamps.js';

/**
 * R34: a lockbox deposit, recorded at once. Each item is a mail payment (R22-R24) received on the
 * deposit date; this file decides what the deposit as a whole may be (control totals, one sequence
 * number per item, each item's details), how each item is matched (scan line, else remittance, else
 * unapplied; payee mismatches go back to the sender) and the reconciliation answered. The money of
 * each item is then decided exactly as for a single mail payment (`matchPayment`, `settle`).
 */
export const LOCKBOX_METHODS = ['check', 'money_order'] as const;
export type LockboxMethod = (typeof LOCKBOX_METHODS)[number];

export const LOCKBOX_OUTCOMES = ['applied', 'unapplied', 'returned_to_sender'] as const;
export type LockboxOutcome = (typeof LOCKBOX_OUTCOMES)[number];

/** How an item was matched: by its scan line (R33), by the remittance written on it (R22), or not at all. */
export const LOCKBOX_MATCHES = ['scan_line', 'remittance'] as const;
export type LockboxMatch = (typeof LOCKBOX_MATCHES)[number];

/** Why an item was not matched the first way it could have been (an item can collect several). */
export const LOCKBOX_NOTES = [
  'payee_mismatch',
  'scan_line_unreadable',
  'scan_line_check_digit',
  'scan_line_invoice_not_found',
  'scan_line_amount_mismatch',
  'remittance_incomplete',
  'remittance_not_matched',
  'nothing_to_match',
  'received_before_selection',
] as const;
export type LockboxNote = (typeof LOCKBOX_NOTES)[number];

export interface LockboxItem {
  sequence: number;
  method: LockboxMethod;
  amountCents: number;
  checkNumber?: string | undefined;
  serialNumber?: string | undefined;
  payableTo: string;
  scanLine?: string | undefined;
  remittance?: Remittance | undefined;
}

export interface LockboxDeposit {
  depositId: string;
  depositDate: IsoDate;
  items: LockboxItem[];
  control: { itemCount: number; totalCents: number };
}

/** What the store found for a scan line's invoice number (void invoices included: R24 makes them credit). */
export interface ScanLineInvoice {
  invoiceNumber: string;
  amountDueCents: number;
}

/** One item's fate before its money is decided: returned to the sender, or a mail payment to record. */
export type ItemPlan =
  | { kind: 'return'; item: LockboxItem; notes: LockboxNote[] }
  | {
      kind: 'record';
      item: LockboxItem;
      request: PaymentRequest;
      /** Null when nothing on the item can be matched: the payment is kept unapplied (R23). */
      target: PaymentTarget | null;
      matchedBy: LockboxMatch | null;
      notes: LockboxNote[];
    };

export interface LockboxItemResult {
  sequence: number;
  method: LockboxMethod;
  amountCents: number;
  outcome: LockboxOutcome;
  /** The recorded payment; null for an item returned to the sender (nothing is recorded for it). */
  paymentId: string | null;
  matchedBy: LockboxMatch | null;
  enrollmentId: string | null;
  appliedCents: number;
  creditedCents: number;
  notes: LockboxNote[];
}

export interface OutcomeTotal {
  count: number;
  totalCents: number;
}

/** R34's answer: every item's outcome and the totals of each, which add up to the control totals. */
export interface LockboxReconciliation {
  depositId: string;
  depositDate: IsoDate;
  recordedAt: string;
  control: { itemCount: number; totalCents: number };
  totals: { applied: OutcomeTotal; unapplied: OutcomeTotal; returnedToSender: OutcomeTotal };
  items: LockboxItemResult[];
}

/**
 * R34: the deposit as a whole, before anything is recorded. Control totals first (422
 * `control_total_mismatch` with what the items add up to); then each sequence number once (422
 * `duplicate_sequence`); then each item carries the detail of its method: a check its
 * `checkNumber`, a money order its `serialNumber`, never the other's (400, as for a single payment).
 */
export function checkDeposit(d: LockboxDeposit): void {
  const itemCount = d.items.length;
  const totalCents = d.items.reduce((sum, i) => sum + i.amountCents, 0);
  if (itemCount !== d.control.itemCount || totalCents !== d.control.totalCents) {
    throw new DomainError(
      'control_total_mismatch',
      `The items add up to ${itemCount} items and ${totalCents} cents; the control says ${d.control.itemCount} items and ${d.control.totalCents} cents. Nothing was recorded.`,
      { control: d.control, items: { itemCount, totalCents } },
    );
  }
  const seen = new Set<number>();
  const repeated = new Set<number>();
  for (const i of d.items) (seen.has(i.sequence) ? repeated : seen).add(i.sequence);
  if (repeated.size > 0) {
    throw new DomainError(
      'duplicate_sequence',
      `Sequence numbers appear more than once: ${[...repeated].join(', ')}.`,
      {
        sequences: [...repeated],
      },
    );
  }
  d.items.forEach(checkItemDetails);
}

function checkItemDetails(item: LockboxItem, index: number): void {
  const [wanted, other] =
    item.method === 'check' ? (['checkNumber', 'serialNumber'] as const) : (['serialNumber', 'checkNumber'] as const);
  if (item[other] !== undefined) {
    throw new DomainError('payment_details_mismatch', `Item ${item.sequence}: a ${item.method} carries no ${other}.`, {
      field: `items[${index}].${other}`,
      sequence: item.sequence,
    });
  }
  if (item[wanted] === undefined) {
    throw new DomainError('payment_details_required', `Item ${item.sequence}: a ${item.method} needs \`${wanted}\`.`, {
      field: `items[${index}].${wanted}`,
      sequence: item.sequence,
    });
  }
}

/**
 * R2/R34: every item is received on the deposit date. The instant recorded is now when the deposit
 * date is today, else the last instant of that business day (so an enrollment selected earlier that
 * day is never paid "before it was selected"); the date obeys the mail window of a single payment
 * (at most 10 business days back, never ahead), refused as `depositDate`.
 */
export function depositReceipt(depositDate: IsoDate, now: Date, calendar: BusinessCalendar): Date {
  const today = businessDateOf(now);
  const at = depositDate >= today ? now : new Date(startOfBusinessDay(addDays(depositDate, 1)).getTime() - 1);
  if (depositDate > today) {
    throw new DomainError('timestamp_in_future', `depositDate ${depositDate} is after today (${today}).`, {
      field: 'depositDate',
      latest: today,
    });
  }
  try {
    return businessTimestamp('receivedAt', at, { now, calendar, channel: 'mail' });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    throw new DomainError(
      err.code,
      `depositDate ${depositDate} is more than 10 business days before today (${today}).`,
      { ...err.extra, field: 'depositDate' },
    );
  }
}

/** The invoice numbers the deposit's readable scan lines name (one read for all of them). */
export function scanLineInvoiceNumbers(items: readonly LockboxItem[]): string[] {
  const numbers = new Set<string>();
  for (const i of items) {
    const read = i.scanLine === undefined ? null : readScanLine(i.scanLine);
    if (read && typeof read === 'object') numbers.add(read.invoiceNumber);
  }
  return [...numbers];
}

/** R33 for a deposit item: `scanLineVerdict`, against the invoices the deposit read at once. */
export function matchScanLine(
  scanLine: string,
  invoices: ReadonlyMap<string, ScanLineInvoice>,
): { invoiceNumber: string } | { note: LockboxNote } {
  const verdict = scanLineVerdict(scanLine, (n) => invoices.get(n));
  return 'note' in verdict ? { note: verdict.note } : { invoiceNumber: verdict.invoice.invoiceNumber };
}

/** The single mail payment an item is (R19: mail, by check or money order). */
export function itemRequest(item: LockboxItem, receivedAt: Date): PaymentRequest {
  return {
    channel: 'mail',
    method: item.method,
    amountCents: item.amountCents,
    receivedAt,
    ...(item.method === 'check'
      ? { check: { checkNumber: item.checkNumber ?? '', payableTo: item.payableTo } }
      : { moneyOrder: { serialNumber: item.serialNumber ?? '', payableTo: item.payableTo } }),
  };
}

/**
 * R22/R23/R33/R34: what one item is. A payee other than "Health Connector" (`payableToConnector`)
 * is returned to the sender and records nothing. Otherwise it is a mail payment that names the
 * scan line's invoice when the scan line matches (R33), else the remittance written on it (as a
 * single payment's `remittance`), else nothing (kept unapplied, R23: money deposited is never
 * turned away, so an incomplete remittance is not a refusal here).
 */
export function planItem(
  item: LockboxItem,
  receivedAt: Date,
  invoices: ReadonlyMap<string, ScanLineInvoice>,
): ItemPlan {
  if (!payableToConnector(item.payableTo)) return { kind: 'return', item, notes: ['payee_mismatch'] };
  const request = itemRequest(item, receivedAt);
  const notes: LockboxNote[] = [];
  if (item.scanLine !== undefined) {
    const scan = matchScanLine(item.scanLine, invoices);
    if ('invoiceNumber' in scan) {
      const target: PaymentTarget = paymentTarget({ ...request, slip: { invoiceNumber: scan.invoiceNumber } });
      return { kind: 'record', item, request, target, matchedBy: 'scan_line', notes };
    }
    notes.push(scan.note);
  }
  if (item.remittance === undefined) {
    notes.push('nothing_to_match');
    return { kind: 'record', item, request, target: null, matchedBy: null, notes };
  }
  try {
    const target = paymentTarget({ ...request, remittance: item.remittance });
    return { kind: 'record', item, request, target, matchedBy: 'remittance', notes };
  } catch (err) {
    if (!(err instanceof DomainError) || err.code !== 'remittance_incomplete') throw err;
    notes.push('remittance_incomplete');
    return { kind: 'record', item, request, target: null, matchedBy: null, notes };
  }
}

/** Items in the order the lockbox numbered them: a later item sees what an earlier one paid. */
export function inSequence<T extends { sequence: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.sequence - b.sequence);
}

/**
 * R34's answer: the items in sequence order with their outcomes, and per outcome the count and the
 * cents. I4 for the deposit: the totals add up to the control totals, always (checked here too).
 */
export function reconcileDeposit(d: LockboxDeposit, results: LockboxItemResult[], now: Date): LockboxReconciliation {
  const total = (outcome: LockboxOutcome): OutcomeTotal => {
    const of = results.filter((r) => r.outcome === outcome);
    return { count: of.length, totalCents: of.reduce((sum, r) => sum + r.amountCents, 0) };
  };
  const totals = {
    applied: total('applied'),
    unapplied: total('unapplied'),
    returnedToSender: total('returned_to_sender'),
  };
  const all = [totals.applied, totals.unapplied, totals.returnedToSender];
  const count = all.reduce((s, t) => s + t.count, 0);
  const cents = all.reduce((s, t) => s + t.totalCents, 0);
  if (count !== d.control.itemCount || cents !== d.control.totalCents) {
    throw new Error(`deposit ${d.depositId}: outcomes (${count}, ${cents}) do not add up to the control totals`);
  }
  return {
    depositId: d.depositId,
    depositDate: d.depositDate,
    recordedAt: now.toISOString(),
    control: { ...d.control },
    totals,
    items: inSequence(results),
  };
}
