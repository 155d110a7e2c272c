/**
 * R27: every event type the service emits, in one closed list: an event built with any other type
 * fails typecheck. Adding a type means adding it here (and, when carriers must see it, checking
 * `carrierSees` and migration 0008's feed index, which mirror R27's rule in SQL).
 */
export const EVENT_TYPES = [
  'enrollment.created',
  'enrollment.coverage_start_moved',
  'enrollment.awaiting_confirmation',
  'enrollment.pending_payment',
  'enrollment.confirmed',
  'enrollment.cancelled',
  'enrollment.flagged',
  'enrollment.delinquent',
  'enrollment.delinquency_cured',
  'enrollment.terminated',
  'enrollment.reinstated',
  'invoice.issued',
  'payment.received',
  'payment.unapplied',
  'payment.returned',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An outbox event as the domain describes it; stores add the ids to `data` and write it. */
export interface DomainEvent {
  type: EventType;
  occurredAt: Date;
  carrierId?: string | null;
  memberId?: string | null;
  enrollmentId?: string | null;
  invoiceId?: string | null;
  paymentId?: string | null;
  data?: Record<string, unknown>;
}

/** R27: what a carrier sees of the feed: `enrollment.*` and `payment.returned` of its own enrollments. */
export const CARRIER_EVENT_PREFIX = 'enrollment.';
export const CARRIER_EVENT_TYPES = ['payment.returned'] as const satisfies readonly EventType[];

export function carrierSees(type: string): boolean {
  return type.startsWith(CARRIER_EVENT_PREFIX) || (CARRIER_EVENT_TYPES as readonly string[]).includes(type);
}

export interface FeedEvent {
  id: string;
  type: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

export interface FeedPosition {
  /** The writer's transaction id (xid8, as a decimal string) and the event's id. */
  tx: string;
  id: number;
}

export const FEED_START: FeedPosition = { tx: '0', id: 0 };

/** Orders feed positions: by writer transaction id (as a number, never as text), then event id. */
export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  const ta = BigInt(a.tx);
  const tb = BigInt(b.tx);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/**
 * R27: where the next poll starts. A full page ends at its last event (more may follow). A page that
 * is not full has shown every event the caller may see below `horizon` (the reading snapshot's xmin:
 * every transaction that can still commit has an id at or above it, and event ids start at 1), so the
 * next poll may start at (horizon, 0), past everything else below it that the caller may not see.
 * Never behind the cursor given (a snapshot on a lagging replica can have an older horizon).
 */
export function nextPosition(
  after: FeedPosition,
  page: { last: FeedPosition | null; full: boolean; horizon: string },
): FeedPosition {
  if (page.full && page.last) return page.last;
  const candidates = [after, { tx: page.horizon, id: 0 }, ...(page.last ? [page.last] : [])];
  return candidates.reduce((max, p) => (comparePositions(p, max) > 0 ? p : max));
}
