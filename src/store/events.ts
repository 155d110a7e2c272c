import type { Kysely } from 'kysely';
import type { DomainEvent } from '../domain/events.js';
import type { DB } from './schema.js';

export type NewEvent = DomainEvent;

/** The stored row: the ids are repeated in `data`, so a consumer needs only the payload. */
export function eventRow(e: NewEvent) {
  return {
    type: e.type,
    occurred_at: e.occurredAt,
    carrier_id: e.carrierId ?? null,
    member_id: e.memberId ?? null,
    enrollment_id: e.enrollmentId ?? null,
    invoice_id: e.invoiceId ?? null,
    payment_id: e.paymentId ?? null,
    data: {
      ...(e.enrollmentId ? { enrollmentId: e.enrollmentId } : {}),
      ...(e.invoiceId ? { invoiceId: e.invoiceId } : {}),
      ...(e.paymentId ? { paymentId: e.paymentId } : {}),
      ...(e.memberId ? { memberId: e.memberId } : {}),
      ...(e.carrierId ? { carrierId: e.carrierId } : {}),
      ...e.data,
    },
  };
}

/** Outbox writes: always inside the transaction of the change they describe. */
export async function appendEvents(db: Kysely<DB>, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('events')
    .values(
      events.map((e) => {
        const row = eventRow(e);
        return { ...row, data: JSON.stringify(row.data) };
      }),
    )
    .execute();
}
