/** R27: what a carrier sees of the feed: `enrollment.*` and `payment.returned` of its own enrollments. */
export const CARRIER_EVENT_PREFIX = 'enrollment.';
export const CARRIER_EVENT_TYPES = ['payment.returned'] as const;

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
