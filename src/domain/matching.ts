import type { ErrorCode } from './errors.js';
import { nameKey } from './names.js';
import { readScanLine } from './numbers.js';
import { pickRemittanceEnrollment, type RemittanceCandidate } from './payment.js';

/**
 * What the store found for a payment's target (`paymentTarget`), read before deciding. Facts that
 * only matter once an earlier one is settled (an account's owing enrollments once the phone number
 * names exactly one account) may be left empty when that earlier fact already decides.
 */
export type MatchFacts =
  | {
      kind: 'invoice';
      invoiceNumber: string;
      /** The invoice with that number, void or not; null when there is none. */
      invoice: { id: string; memberId: string } | null;
      /** The invoice's enrollment, when it exists. */
      enrollmentId: string | null;
    }
  | {
      kind: 'scanLine';
      scanLine: string;
      /** The invoice the scan line's invoice number names, void or not; null when none (or unreadable). */
      invoice: { id: string; memberId: string; invoiceNumber: string; amountDueCents: number } | null;
      enrollmentId: string | null;
      /** R34's order: what the remittance on the check finds, matched when the scan line does not. */
      orElse?: RemittanceFacts;
    }
  | { kind: 'enrollment'; enrollmentId: string; found: boolean }
  | {
      kind: 'phone';
      /** Member IDs of the accounts with this phone number. */
      accounts: readonly string[];
      /** Enrollments with a balance of the one account (empty unless there is exactly one). */
      owing: readonly string[];
    }
  | { kind: 'member'; memberId: string; accountFound: boolean; owing: readonly string[] }
  | RemittanceFacts;

export interface RemittanceFacts {
  kind: 'remittance';
  remittance: { memberId: string; firstName: string; lastName: string };
  /** The account of the remittance's Member ID. */
  account: { memberId: string; firstName: string; lastName: string } | null;
  /** The account's enrollments with the remittance's carrier. */
  candidates: readonly RemittanceCandidate[];
}

/** Why a scan line did not match (R33), as a lockbox deposit's answer lists it (R34). */
export type ScanLineNote =
  | 'scan_line_unreadable'
  | 'scan_line_check_digit'
  | 'scan_line_invoice_not_found'
  | 'scan_line_amount_mismatch';

/**
 * R33, decided once for every mail payment (a single one and each lockbox item): a scan line
 * matches automatically only when it has our layout, its Luhn check digit holds, its invoice exists
 * and the amount it encodes is that invoice's amount due; otherwise it says why not.
 */
export function scanLineVerdict<I extends { invoiceNumber: string; amountDueCents: number }>(
  scanLine: string,
  invoiceOf: (invoiceNumber: string) => I | null | undefined,
): { invoice: I } | { note: ScanLineNote; invoice?: I } {
  const read = readScanLine(scanLine);
  if (read === 'unreadable') return { note: 'scan_line_unreadable' };
  if (read === 'check_digit') return { note: 'scan_line_check_digit' };
  const invoice = invoiceOf(read.invoiceNumber);
  if (!invoice) return { note: 'scan_line_invoice_not_found' };
  if (invoice.amountDueCents !== read.amountCents) return { note: 'scan_line_amount_mismatch', invoice };
  return { invoice };
}

/** What a payment pays: one enrollment (only one invoice of it), nothing yet (ops applies it), or a refusal. */
export type MatchDecision =
  | { kind: 'pay'; enrollmentId: string; onlyInvoiceId?: string }
  | { kind: 'unapplied'; memberId: string | null }
  | { kind: 'refuse'; code: ErrorCode; detail: string; extra?: Record<string, unknown> };

const refuse = (code: ErrorCode, detail: string, extra?: Record<string, unknown>): MatchDecision =>
  extra ? { kind: 'refuse', code, detail, extra } : { kind: 'refuse', code, detail };

/**
 * R21-R23: which enrollment a payment pays, from what the store found for its target.
 * - R21/R22: an invoice number (typed, or a mail slip) pays that invoice only (R24: a void invoice
 *   still names its enrollment, whose credit takes the money); an enrollment ID pays that
 *   enrollment (R24: a cancelled one keeps it as credit).
 * - R21: a phone payment by phone number or Member ID pays the account's one enrollment with a
 *   balance; none is `target_not_found`, several (or several accounts) `target_ambiguous`.
 * - R22: a mail payment without a slip pays by its remittance: the Member ID and the names must
 *   match the account, then `pickRemittanceEnrollment` picks the carrier's enrollment.
 * - R33: a mail slip's scan line pays its invoice only when its check digit holds and its amount is
 *   the invoice's amount due (`matchScanLine`).
 * - R23: mail that cannot be matched is kept unapplied (with the member when known), for ops;
 *   other channels are refused with `target_not_found`.
 */
export function matchPayment(facts: MatchFacts, channel: { mail: boolean }): MatchDecision {
  const notFoundOr = (memberId: string | null, detail: string): MatchDecision =>
    channel.mail ? { kind: 'unapplied', memberId } : refuse('target_not_found', detail);
  switch (facts.kind) {
    case 'invoice':
      if (!facts.invoice || !facts.enrollmentId) {
        return notFoundOr(facts.invoice?.memberId ?? null, `No invoice ${facts.invoiceNumber}.`);
      }
      return { kind: 'pay', enrollmentId: facts.enrollmentId, onlyInvoiceId: facts.invoice.id };
    case 'scanLine':
      return matchScanLine(facts, notFoundOr);
    case 'enrollment':
      return facts.found
        ? { kind: 'pay', enrollmentId: facts.enrollmentId }
        : notFoundOr(null, `No enrollment ${facts.enrollmentId}.`);
    case 'phone':
      if (facts.accounts.length === 0) return refuse('target_not_found', 'No account has this phone number.');
      if (facts.accounts.length > 1) {
        return refuse('target_ambiguous', 'Several accounts have this phone number; give the Member ID.');
      }
      return oneOwing(facts.owing);
    case 'member':
      if (!facts.accountFound) return refuse('target_not_found', `No account for member ${facts.memberId}.`);
      return oneOwing(facts.owing);
    case 'remittance':
      return matchRemittance(facts);
  }
}

/**
 * R33/R34: a scan line pays its invoice only when `scanLineVerdict` says it matches. Otherwise the
 * remittance written on the check decides, when there is one (R34: "matched by scan line, else by
 * remittance details, else unapplied"); else mail is kept unapplied for ops (R23), with the
 * invoice's member when the line checks but its amount differs.
 */
export function matchScanLine(
  facts: Extract<MatchFacts, { kind: 'scanLine' }>,
  notFoundOr: (memberId: string | null, detail: string) => MatchDecision,
): MatchDecision {
  const { invoice, enrollmentId } = facts;
  const verdict = scanLineVerdict(facts.scanLine, (n) =>
    invoice?.invoiceNumber === n && enrollmentId ? invoice : null,
  );
  if (!('note' in verdict) && enrollmentId) return { kind: 'pay', enrollmentId, onlyInvoiceId: verdict.invoice.id };
  if (facts.orElse) return matchRemittance(facts.orElse);
  const why = 'note' in verdict ? verdict.note : 'scan_line_invoice_not_found';
  return notFoundOr(verdict.invoice?.memberId ?? null, `The scan line does not match (${why}).`);
}

/** R21: the member's one enrollment with a balance. */
function oneOwing(owing: readonly string[]): MatchDecision {
  const [only, ...more] = owing;
  if (only === undefined) return refuse('target_not_found', 'The account has no enrollment with a balance.');
  if (more.length > 0) {
    return refuse(
      'target_ambiguous',
      'The account has several enrollments with a balance; name the invoice number or enrollment.',
      { enrollmentIds: [...owing] },
    );
  }
  return { kind: 'pay', enrollmentId: only };
}

/** R22/R23: a remittance pays only when its Member ID and names match the account. */
function matchRemittance(facts: RemittanceFacts): MatchDecision {
  const { account, remittance } = facts;
  if (!account) return { kind: 'unapplied', memberId: null };
  const namesMatch =
    nameKey(account.firstName) === nameKey(remittance.firstName) &&
    nameKey(account.lastName) === nameKey(remittance.lastName);
  if (!namesMatch) return { kind: 'unapplied', memberId: account.memberId };
  const pick = pickRemittanceEnrollment(facts.candidates);
  return pick ? { kind: 'pay', enrollmentId: pick } : { kind: 'unapplied', memberId: account.memberId };
}
