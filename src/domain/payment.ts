import type { BusinessCalendar } from './calendar.js';
import { type Channel, PAYEE, type PaymentMethod } from './channels.js';
import { businessDateOf, type IsoDate, parts } from './dates.js';
import { DomainError } from './errors.js';
import { nameKey } from './names.js';
import { isValidRoutingNumber, MAX_ACH_ENTRY_CENTS } from './numbers.js';
import { businessTimestamp } from './timestamps.js';

export const PAYMENT_STATUSES = ['received', 'unapplied', 'returned'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const CARD_BRANDS = ['visa', 'mastercard', 'amex', 'discover'] as const;
export type CardBrand = (typeof CARD_BRANDS)[number];

/**
 * R20: a card payment carries the processor's token, never a card number: a lowercase prefix, an
 * underscore and letters, digits or underscores (`tok_visa_4242`, `pm_1Q2w3E4r`). A value of digits and
 * separators is not a token; the card screen still reads every token for a card number inside it.
 */
export const CARD_TOKEN_PATTERN = '^[a-z]{2,16}_[A-Za-z0-9_]{1,180}$';

export const BANK_METHODS: readonly PaymentMethod[] = ['checking', 'savings'];
export const CARD_METHODS: readonly PaymentMethod[] = ['credit_card', 'debit_card'];
export const PAPER_METHODS: readonly PaymentMethod[] = ['check', 'money_order'];

export interface BankAccountInput {
  routingNumber: string;
  accountNumber: string;
}
export interface CardInput {
  token: string;
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
}
export interface Remittance {
  memberId?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  mailingAddress?: unknown;
  carrierName?: string | undefined;
}

export interface PaymentRequest {
  channel: Channel;
  method: PaymentMethod;
  amountCents: number;
  receivedAt?: Date | undefined;
  guest?: boolean | undefined;
  invoiceNumber?: string | undefined;
  enrollmentId?: string | undefined;
  memberId?: string | undefined;
  phoneNumber?: string | undefined;
  /** R22: the payment slip from the bill: its invoice number, or its scan line as the lockbox reads it (R33). */
  slip?: { invoiceNumber: string } | { scanLine: string } | undefined;
  remittance?: Remittance | undefined;
  bankAccount?: BankAccountInput | undefined;
  card?: CardInput | undefined;
  check?: { checkNumber: string; payableTo: string } | undefined;
  moneyOrder?: { serialNumber: string; payableTo: string } | undefined;
}

/** How a payment names what it pays, after the channel's rules have been checked. */
export type PaymentTarget =
  | { kind: 'invoice'; invoiceNumber: string }
  /** R33/R34: a scan line, and the remittance to match by when the scan line does not (`orElse`). */
  | { kind: 'scanLine'; scanLine: string; orElse?: RemittanceTarget }
  | { kind: 'enrollment'; enrollmentId: string }
  | { kind: 'member'; memberId: string }
  | { kind: 'phone'; phoneNumber: string }
  | { kind: 'remittance'; memberId: string; firstName: string; lastName: string; carrierName: string };

export type RemittanceTarget = Extract<PaymentTarget, { kind: 'remittance' }>;

const REMITTANCE_FIELDS = ['memberId', 'firstName', 'lastName', 'carrierName'] as const;

/** R22: the remittance details as a target, or the names of the missing ones. */
function remittanceTarget(r: Remittance): RemittanceTarget | { missing: string[] } {
  const missing = REMITTANCE_FIELDS.filter((f) => !r[f] || String(r[f]).trim() === '');
  if (missing.length) return { missing };
  return {
    kind: 'remittance',
    memberId: String(r.memberId),
    firstName: String(r.firstName),
    lastName: String(r.lastName),
    carrierName: String(r.carrierName),
  };
}

function requireDetails(condition: unknown, field: string, method: PaymentMethod): void {
  if (!condition)
    throw new DomainError('payment_details_required', `A ${method} payment needs \`${field}\`.`, { field });
}

function refuseExtraDetails(req: PaymentRequest): void {
  const given = (['bankAccount', 'card', 'check', 'moneyOrder'] as const).filter((k) => req[k] !== undefined);
  const wanted = BANK_METHODS.includes(req.method)
    ? 'bankAccount'
    : CARD_METHODS.includes(req.method)
      ? 'card'
      : req.method === 'check'
        ? 'check'
        : req.method === 'money_order'
          ? 'moneyOrder'
          : null;
  const extra = given.filter((k) => k !== wanted);
  if (extra.length) {
    throw new DomainError('payment_details_mismatch', `A ${req.method} payment does not carry ${extra.join(', ')}.`, {
      field: extra[0],
    });
  }
}

/**
 * R20/R22: the method's details, checked after the channel accepted the method (R19).
 * Returns nothing; throws the first refusal.
 */
export function checkMethodDetails(req: PaymentRequest, now: Date): void {
  refuseExtraDetails(req);
  if (BANK_METHODS.includes(req.method)) {
    requireDetails(req.bankAccount, 'bankAccount', req.method);
    if (req.bankAccount && !isValidRoutingNumber(req.bankAccount.routingNumber)) {
      throw new DomainError('invalid_routing_number', 'The routing number fails the ABA check digit.', {
        field: 'bankAccount.routingNumber',
      });
    }
    if (req.amountCents > MAX_ACH_ENTRY_CENTS) {
      throw new DomainError(
        'amount_too_large',
        `A bank payment is one ACH debit entry: at most ${MAX_ACH_ENTRY_CENTS} cents.`,
        { maximumCents: MAX_ACH_ENTRY_CENTS },
      );
    }
  } else if (CARD_METHODS.includes(req.method)) {
    requireDetails(req.card, 'card', req.method);
    if (req.card) {
      const today = parts(businessDateOf(now));
      const expired =
        req.card.expYear < today.year || (req.card.expYear === today.year && req.card.expMonth < today.month);
      if (expired) {
        throw new DomainError(
          'card_expired',
          `The card expired at the end of ${req.card.expMonth}/${req.card.expYear}.`,
        );
      }
    }
  } else if (req.method === 'check') {
    requireDetails(req.check, 'check', req.method);
  } else if (req.method === 'money_order') {
    requireDetails(req.moneyOrder, 'moneyOrder', req.method);
  }
  const payableTo = req.check?.payableTo ?? req.moneyOrder?.payableTo;
  if (payableTo !== undefined && !payableToConnector(payableTo)) {
    throw new DomainError(
      'payee_mismatch',
      `Checks and money orders must be payable to "${PAYEE}"; this one is payable to "${payableTo}". The lockbox returns it to the sender.`,
    );
  }
}

/**
 * R22: a check or money order is payable to "Health Connector": the payee as written compares equal
 * by `nameKey` (case, repeated white space and Unicode forms ignored). Anything else, including
 * "Massachusetts Health Connector" or "Health Connector Inc.", is a payee mismatch: the lockbox
 * returns it to the sender.
 */
export function payableToConnector(payableTo: string): boolean {
  return nameKey(payableTo) === nameKey(PAYEE);
}

/** R21-R23: what the payment names, by channel. */
export function paymentTarget(req: PaymentRequest): PaymentTarget {
  if (req.guest !== undefined && req.channel !== 'online') {
    throw new DomainError('target_not_allowed', 'Only online payments can be guest payments.');
  }
  if (req.channel === 'mail') {
    if (req.invoiceNumber || req.enrollmentId || req.memberId || req.phoneNumber) {
      throw new DomainError('target_not_allowed', 'A mail payment is matched by its slip or its remittance details.');
    }
    const remittance = remittanceTarget(req.remittance ?? {});
    if (req.slip) {
      if (!('scanLine' in req.slip)) return { kind: 'invoice', invoiceNumber: req.slip.invoiceNumber };
      // R34's order for every mail payment: the scan line, else the remittance written on the check.
      return 'kind' in remittance
        ? { kind: 'scanLine', scanLine: req.slip.scanLine, orElse: remittance }
        : { kind: 'scanLine', scanLine: req.slip.scanLine };
    }
    if (!('kind' in remittance)) {
      const { missing } = remittance;
      throw new DomainError(
        'remittance_incomplete',
        `Without a payment slip the check must carry: ${missing.join(', ')}.`,
        { missing },
      );
    }
    return remittance;
  }
  if (req.slip || req.remittance) {
    throw new DomainError('target_not_allowed', 'Payment slips and remittance details are for mail payments.');
  }
  const named = [
    req.invoiceNumber && ({ kind: 'invoice', invoiceNumber: req.invoiceNumber } as const),
    req.enrollmentId && ({ kind: 'enrollment', enrollmentId: req.enrollmentId } as const),
    req.channel === 'phone' && req.memberId && ({ kind: 'member', memberId: req.memberId } as const),
    req.channel === 'phone' && req.phoneNumber && ({ kind: 'phone', phoneNumber: req.phoneNumber } as const),
  ].filter(Boolean) as PaymentTarget[];
  if (req.channel === 'online' && (req.memberId || req.phoneNumber)) {
    throw new DomainError('target_not_allowed', 'Online payments name an invoiceNumber or an enrollmentId.');
  }
  if (named.length === 0) {
    throw new DomainError(
      'target_required',
      req.channel === 'phone'
        ? 'A phone payment names an invoiceNumber, enrollmentId, memberId or phoneNumber.'
        : 'An online payment names an invoiceNumber or an enrollmentId.',
    );
  }
  if (named.length > 1) throw new DomainError('target_ambiguous', 'Name exactly one target.');
  return named[0] as PaymentTarget;
}

export interface OpenInvoice {
  id: string;
  coverageMonth: IsoDate;
  balanceCents: number;
}

export interface Allocation {
  applications: { invoiceId: string; amountCents: number }[];
  creditedCents: number;
}

/**
 * R24: oldest open invoice first; what is left becomes credit on the enrollment.
 * I4: the applications and the credit add up to the amount, always.
 */
export function allocate(amountCents: number, openInvoices: OpenInvoice[]): Allocation {
  let left = amountCents;
  const applications: Allocation['applications'] = [];
  const ordered = [...openInvoices].sort((a, b) =>
    a.coverageMonth < b.coverageMonth ? -1 : a.coverageMonth > b.coverageMonth ? 1 : 0,
  );
  for (const inv of ordered) {
    if (left <= 0) break;
    const amount = Math.min(left, inv.balanceCents);
    if (amount > 0) {
      applications.push({ invoiceId: inv.id, amountCents: amount });
      left -= amount;
    }
  }
  return { applications, creditedCents: left };
}

/** R25: ACH return codes R01..R99 for bank payments, CHECK_RETURNED for checks and money orders. */
export function assertReturnReason(method: PaymentMethod, reasonCode: string): void {
  const ach = /^R\d{2}$/.test(reasonCode) && reasonCode !== 'R00';
  if (BANK_METHODS.includes(method) && ach) return;
  if (PAPER_METHODS.includes(method) && reasonCode === 'CHECK_RETURNED') return;
  throw new DomainError(
    'invalid_reason_code',
    BANK_METHODS.includes(method)
      ? 'Bank payments are returned with an ACH return code R01..R99.'
      : PAPER_METHODS.includes(method)
        ? 'Checks and money orders are returned with CHECK_RETURNED.'
        : `A ${method} payment cannot be returned here (card disputes are handled by the processor).`,
  );
}

/** R20: what responses and logs may show of an account number. */
export function last4(value: string): string {
  return value.slice(-4);
}

export interface PaymentApplication {
  invoiceId: string;
  amountCents: number;
  appliedAt: Date;
  reversedAt: Date | null;
}

export interface Payment {
  id: string;
  status: PaymentStatus;
  channel: Channel;
  method: PaymentMethod;
  amountCents: number;
  receivedAt: Date;
  memberId: string | null;
  enrollmentId: string | null;
  guest: boolean;
  target: Record<string, unknown>;
  applications: PaymentApplication[];
  creditedCents: number;
  unappliedCents: number;
  bankAccount: { routingNumber: string; last4: string } | null;
  card: { brand: string; last4: string; expMonth: number; expYear: number } | null;
  check: { checkNumber: string; payableTo: string } | null;
  moneyOrder: { serialNumber: string; payableTo: string } | null;
  returnedAt: Date | null;
  returnReasonCode: string | null;
  createdAt: Date;
  /** R35: the ACH file a bank payment went out in, and its trace number (null until originated). */
  achFileId: string | null;
  traceNumber: string | null;
}

/** A member's enrollment with the carrier named on a check's remittance (R22). */
export interface RemittanceCandidate {
  id: string;
  owes: boolean;
  cancelled: boolean;
}

/**
 * R22/R24: which enrollment a mail payment without a slip pays: the one with that carrier that owes
 * money; else the one active enrollment (an overpayment is its credit); else the one cancelled
 * enrollment (credit there, for ops to refund). Anything else is ambiguous: null, and the payment
 * waits unapplied for ops (R23).
 */
export function pickRemittanceEnrollment(candidates: readonly RemittanceCandidate[]): string | null {
  const only = (list: readonly RemittanceCandidate[]) => (list.length === 1 ? (list[0]?.id ?? null) : null);
  const owing = candidates.filter((c) => c.owes);
  if (owing.length > 0) return only(owing);
  const active = candidates.filter((c) => !c.cancelled);
  return active.length > 0 ? only(active) : only(candidates);
}

/** An event a payment transition records (the same shape every domain decision returns). */
export interface PaymentEvent {
  type: 'payment.unapplied';
  occurredAt: Date;
  memberId: string | null;
  paymentId: string;
  data: Record<string, unknown>;
}

/**
 * R19/R20: the payment a request records, before it is matched: `received`, paying nothing yet.
 * Shows only the last four digits of an account number; the card is its token's brand and expiry.
 */
export function newPayment(
  req: PaymentRequest,
  target: PaymentTarget | null,
  at: { id: string; receivedAt: Date; now: Date },
): Payment {
  return {
    id: at.id,
    status: 'received',
    channel: req.channel,
    method: req.method,
    amountCents: req.amountCents,
    receivedAt: at.receivedAt,
    memberId: null,
    enrollmentId: null,
    guest: req.guest ?? false,
    target: target ? { ...target } : {},
    applications: [],
    creditedCents: 0,
    unappliedCents: 0,
    bankAccount: req.bankAccount
      ? { routingNumber: req.bankAccount.routingNumber, last4: last4(req.bankAccount.accountNumber) }
      : null,
    card: req.card
      ? { brand: req.card.brand, last4: req.card.last4, expMonth: req.card.expMonth, expYear: req.card.expYear }
      : null,
    check: req.check ? { checkNumber: req.check.checkNumber, payableTo: req.check.payableTo } : null,
    moneyOrder: req.moneyOrder
      ? { serialNumber: req.moneyOrder.serialNumber, payableTo: req.moneyOrder.payableTo }
      : null,
    returnedAt: null,
    returnReasonCode: null,
    achFileId: null,
    traceNumber: null,
    createdAt: at.now,
  };
}

/** A payment just recorded, not yet matched to anything (never stored in this state). */
function isNew(p: Payment): boolean {
  return p.status === 'received' && p.enrollmentId === null && p.applications.length === 0 && p.unappliedCents === 0;
}

function refuseState(p: Payment, code: 'not_unapplied' | 'already_returned', expected: PaymentStatus[]): never {
  if (code === 'already_returned') {
    throw new DomainError('already_returned', `Payment ${p.id} was returned on ${p.returnedAt?.toISOString()}.`, {
      currentState: 'returned',
    });
  }
  throw new DomainError('not_unapplied', `Payment ${p.id} is ${p.status}.`, {
    currentState: p.status,
    expectedStates: expected,
  });
}

/**
 * R23: a new mail payment that matched nothing is kept `unapplied` (the whole amount), with its
 * member when the remittance named a known one, for ops to apply. Only a new payment can be.
 * I4: `unappliedCents` is the whole amount (no applications, no credit).
 */
export function markUnapplied(
  p: Payment,
  memberId: string | null,
  now: Date,
): { payment: Payment; events: PaymentEvent[] } {
  if (!isNew(p)) refuseState(p, p.status === 'returned' ? 'already_returned' : 'not_unapplied', ['received']);
  const payment: Payment = { ...p, status: 'unapplied', memberId, unappliedCents: p.amountCents };
  const event: PaymentEvent = {
    type: 'payment.unapplied',
    occurredAt: now,
    memberId,
    paymentId: p.id,
    data: { amountCents: p.amountCents, channel: p.channel },
  };
  return { payment, events: [event] };
}

/** R23: only a new payment or an `unapplied` one can be applied; any other is `not_unapplied` (409). */
export function assertApplicable(p: Payment): void {
  if (!isNew(p) && p.status !== 'unapplied') refuseState(p, 'not_unapplied', ['unapplied']);
}

/**
 * R23/R24: the payment pays one enrollment as `settle` decided: its applications and the credit it
 * made. A new payment or an `unapplied` one can be applied; any other is `not_unapplied` (409).
 * I4: `unappliedCents` becomes 0 as the applications and credit (`allocate`) take the whole amount.
 */
export function apply(
  p: Payment,
  enrollment: { id: string; memberId: string },
  settled: { applications: readonly { invoiceId: string; amountCents: number }[]; creditedCents: number },
  now: Date,
): Payment {
  assertApplicable(p);
  return {
    ...p,
    status: 'received',
    memberId: enrollment.memberId,
    enrollmentId: enrollment.id,
    unappliedCents: 0,
    creditedCents: settled.creditedCents,
    applications: [...p.applications, ...settled.applications.map((a) => ({ ...a, appliedAt: now, reversedAt: null }))],
  };
}

/**
 * R25: a payment the bank or lockbox sent back is `returned` (once: again is `already_returned`,
 * 409) with a reason code that fits its method (`invalid_reason_code`), as of `returnedAt`: never
 * before the money arrived, any time after (default now). Its live applications are reversed then
 * (I4 counts only live applications, and no longer holds a returned payment to its amount).
 */
export function markReturned(
  p: Payment,
  input: { reasonCode: string; returnedAt: Date | undefined; now: Date; calendar: BusinessCalendar },
): Payment {
  if (p.status === 'returned') refuseState(p, 'already_returned', []);
  assertReturnReason(p.method, input.reasonCode);
  const returnedAt = businessTimestamp('returnedAt', input.returnedAt, {
    now: input.now,
    calendar: input.calendar,
    notBefore: p.receivedAt,
  });
  return {
    ...p,
    status: 'returned',
    returnedAt,
    returnReasonCode: input.reasonCode,
    applications: p.applications.map((a) => (a.reversedAt === null ? { ...a, reversedAt: returnedAt } : a)),
  };
}
