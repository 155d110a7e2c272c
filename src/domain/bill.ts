import type { MailingAddress } from './accounts.js';
import { subscriberName } from './accounts.js';
import { CHANNEL_RULES, LOCKBOX_ADDRESS, PAYEE } from './channels.js';
import { type IsoDate, parts } from './dates.js';
import type { CoverageType } from './enrollment.js';
import { balanceCents, type InvoiceDetail, invoiceStatus, paymentSlip } from './invoice.js';

/**
 * R32: everything the member's bill says, as strings, decided from the invoice as the JSON read shows
 * it (projected), its enrollment's plan and the account's mailing address. The renderer only places
 * these on the page; nothing here depends on the clock, so the same invoice state is the same bill.
 */
export interface BillContent {
  /** Document metadata: fixed from the invoice's state so the same state renders the same bytes. */
  title: string;
  createdAt: Date;
  modifiedAt: Date;
  sender: { name: string; lines: string[] };
  /** The subscriber's name and mailing address, as the envelope window shows them. */
  addressee: string[];
  memberId: string;
  invoiceNumber: string;
  coverageMonth: string;
  coverage: string;
  carrierName: string;
  planName: string;
  dueDate: string;
  amounts: { label: string; value: string }[];
  amountDue: string;
  balance: string;
  status: string;
  void: boolean;
  /** R32/R9: the seed's warning on a binder (first) invoice; null on every other invoice. */
  binderWarning: { heading: string; text: string } | null;
  howToPay: { title: string; lines: string[] }[];
  coupon: {
    payableTo: string;
    mailTo: string[];
    memberId: string;
    subscriberName: string;
    invoiceNumber: string;
    coverageMonth: string;
    amountDue: string;
    dueDate: string;
    scanLine: string;
  };
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

/** `$1,234.05`: integer cents as a person reads them (no floating point on the way). */
export function formatDollars(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError('cents must be an integer');
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}$${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** `December 23, 2026`. */
export function longDate(date: IsoDate): string {
  const { year, month, day } = parts(date);
  return `${MONTHS[month - 1]} ${day}, ${year}`;
}

/** `January 2027` for a coverage month. */
export function monthName(date: IsoDate): string {
  const { year, month } = parts(date);
  return `${MONTHS[month - 1]} ${year}`;
}

/** The account's address as mail lines: name, street line(s), "City, ST ZIP". */
export function addressLines(name: string, a: MailingAddress): string[] {
  return [name, a.line1, ...(a.line2 ? [a.line2] : []), `${a.city}, ${a.state} ${a.postalCode}`];
}

/** R32 with R19: the three channels as the seed states them. */
function howToPay(): BillContent['howToPay'] {
  const { voice, tty } = CHANNEL_RULES.phone.phoneNumbers;
  return [
    {
      title: 'Pay online',
      lines: [
        'Sign in to your Health Connector account, or make a guest payment without logging in.',
        'Checking or savings account, credit card or debit card. PayPal and other online payment methods are not accepted.',
      ],
    },
    {
      title: 'Pay by phone',
      lines: [
        `Call ${voice}, or TTY ${tty} for people who are deaf, hard of hearing, or speech disabled.`,
        'Have your 12-digit Member ID and your bank routing and account numbers ready: checking or savings account only.',
      ],
    },
    {
      title: 'Pay by mail',
      lines: [
        `Mail a check or money order payable to "${PAYEE}" with the coupon below to ${LOCKBOX_ADDRESS.line1}, ${LOCKBOX_ADDRESS.city}, ${LOCKBOX_ADDRESS.state} ${LOCKBOX_ADDRESS.postalCode}.`,
        'Do not send cash. Credit and debit cards are not accepted by mail.',
      ],
    },
  ];
}

const COVERAGE: Record<CoverageType, string> = { health: 'Health', dental: 'Dental' };

/**
 * R32: the bill of one invoice. `invoice` is the projected invoice the JSON read shows (R10 moves,
 * R30 voids), so the PDF and `GET /v1/invoices/{id}` never disagree. R18's slip is the coupon.
 * R33: the coupon's scan line is the slip's (digits and single spaces, Luhn check digit last).
 */
export function billContent(
  invoice: InvoiceDetail,
  plan: { planName: string; coverageType: CoverageType },
  address: MailingAddress,
): BillContent {
  const slip = paymentSlip(invoice, invoice.subscriber, invoice.carrierName);
  const status = invoiceStatus(invoice);
  const name = subscriberName(invoice.subscriber);
  const due = longDate(invoice.dueDate);
  const month = monthName(invoice.coverageMonth);
  const amountDue = formatDollars(invoice.amountDueCents);
  const balance = formatDollars(balanceCents(invoice));
  const mailTo = LOCKBOX_ADDRESS;
  return {
    title: `Health Connector bill ${invoice.invoiceNumber}`,
    createdAt: invoice.issuedAt,
    modifiedAt: invoice.voidedAt ?? invoice.issuedAt,
    sender: {
      name: PAYEE,
      lines: ['Massachusetts Health Connector', 'Premium bill for health and dental coverage'],
    },
    addressee: addressLines(name, address),
    memberId: invoice.memberId,
    invoiceNumber: invoice.invoiceNumber,
    coverageMonth: month,
    coverage: COVERAGE[plan.coverageType],
    carrierName: invoice.carrierName,
    planName: plan.planName,
    dueDate: due,
    amounts: [
      { label: 'Amount due', value: amountDue },
      { label: 'Amount paid (payments and credits)', value: formatDollars(invoice.amountPaidCents) },
      { label: 'Balance', value: balance },
    ],
    amountDue,
    balance,
    status,
    void: status === 'void',
    binderWarning: invoice.isBinder
      ? {
          heading: 'Your enrollment is not complete until you make your first payment',
          text: `Please note you will not be enrolled in your health or dental plan until you pay the first month’s premium in full by the due date (${due}).`,
        }
      : null,
    howToPay: howToPay(),
    coupon: {
      payableTo: slip.payableTo,
      mailTo: [mailTo.name, mailTo.line1, `${mailTo.city}, ${mailTo.state} ${mailTo.postalCode}`],
      memberId: slip.memberId,
      subscriberName: slip.subscriberName,
      invoiceNumber: slip.invoiceNumber,
      coverageMonth: month,
      amountDue,
      dueDate: due,
      scanLine: slip.scanLine,
    },
  };
}
