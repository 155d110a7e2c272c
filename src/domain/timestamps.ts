import type { BusinessCalendar } from './calendar.js';
import type { Channel } from './channels.js';
import { businessDateOf, startOfBusinessDay } from './dates.js';
import { DomainError } from './errors.js';

/**
 * SPEC Conventions, "Business timestamps": instants a caller knows better than the server. Each may
 * be sent, defaults to the service clock, and must lie in a range that keeps it from rewriting
 * deadlines (R2, R10, R11): no more than 5 minutes ahead, and no further back than its field allows.
 */
export type BusinessTimestampField = 'receivedAt' | 'selectedAt' | 'confirmedAt' | 'returnedAt';

export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** Online and phone payments happen now: their receipt is within 5 minutes of the service clock. */
export const LIVE_CHANNEL_TOLERANCE_MS = 5 * 60_000;
/** A mail receipt (the lockbox's receipt or deposit date) is at most 10 business days (R3) back. */
export const MAIL_RECEIPT_BUSINESS_DAYS = 10;
/** A checkout was selected at most 72 elapsed hours ago. */
export const SELECTION_WINDOW_MS = 72 * 3_600_000;

export interface TimestampBounds {
  now: Date;
  calendar: BusinessCalendar;
  /** receivedAt: the payment's channel (decides how far back a receipt may be). */
  channel?: Channel;
  /**
   * The instant this one may never precede: the enrollment's `selectedAt` for a payment's
   * `receivedAt`, `paidInFullAt` for `confirmedAt`, the payment's `receivedAt` for `returnedAt`.
   */
  notBefore?: Date | null;
}

export interface TimestampRange {
  /** Null when nothing bounds the field from below (a confirmation of an enrollment never paid). */
  earliest: Date | null;
  latest: Date;
}

/** How far back each field may go, before `notBefore` is applied; null: only `notBefore` bounds it. */
function lookBack(field: BusinessTimestampField, b: TimestampBounds): Date | null {
  switch (field) {
    case 'receivedAt':
      if (b.channel === 'mail') {
        const first = b.calendar.subtractBusinessDays(businessDateOf(b.now), MAIL_RECEIPT_BUSINESS_DAYS);
        return startOfBusinessDay(first);
      }
      return new Date(b.now.getTime() - LIVE_CHANNEL_TOLERANCE_MS);
    case 'selectedAt':
      return new Date(b.now.getTime() - SELECTION_WINDOW_MS);
    case 'confirmedAt':
    case 'returnedAt':
      return null;
  }
}

/** The range a business timestamp must lie in (both ends included). */
export function allowedRange(field: BusinessTimestampField, b: TimestampBounds): TimestampRange {
  const latest = new Date(b.now.getTime() + FUTURE_TOLERANCE_MS);
  const candidates = [lookBack(field, b), b.notBefore ?? null].filter((d): d is Date => d !== null);
  const earliest = candidates.length ? new Date(Math.max(...candidates.map((d) => d.getTime()))) : null;
  return { earliest, latest };
}

/**
 * The business timestamp to record: `value`, or the service clock when none was sent. Outside its
 * range: 422 `timestamp_in_future` when too far ahead, `timestamp_out_of_range` when too far back;
 * both name the field and the allowed range.
 */
export function businessTimestamp(
  field: BusinessTimestampField,
  value: Date | undefined,
  bounds: TimestampBounds,
): Date {
  const range = allowedRange(field, bounds);
  const at = value ?? bounds.now;
  const extra = {
    field,
    earliest: range.earliest?.toISOString() ?? null,
    latest: range.latest.toISOString(),
  };
  if (at.getTime() > range.latest.getTime()) {
    throw new DomainError(
      'timestamp_in_future',
      `${field} may not be more than 5 minutes after the service clock (latest ${extra.latest}).`,
      extra,
    );
  }
  if (range.earliest && at.getTime() < range.earliest.getTime()) {
    throw new DomainError(
      'timestamp_out_of_range',
      `${field} must lie between ${extra.earliest} and ${extra.latest}${whyEarliest(field, bounds)}.`,
      extra,
    );
  }
  return at;
}

const ANCHOR = {
  receivedAt: "the enrollment's selectedAt",
  selectedAt: 'its lower bound',
  confirmedAt: 'paidInFullAt',
  returnedAt: "the payment's receivedAt",
} as const satisfies Record<BusinessTimestampField, string>;

function whyEarliest(field: BusinessTimestampField, b: TimestampBounds): string {
  const floor = lookBack(field, b);
  if (b.notBefore && (!floor || b.notBefore > floor)) {
    return ` (it may not be before ${ANCHOR[field]})`;
  }
  if (field === 'receivedAt') {
    return b.channel === 'mail'
      ? ` (a mail receipt is at most ${MAIL_RECEIPT_BUSINESS_DAYS} business days old)`
      : ` (an ${b.channel ?? 'online'} payment is received now, within 5 minutes)`;
  }
  if (field === 'selectedAt') return ' (a checkout is selected at most 72 hours before it is recorded)';
  return '';
}
