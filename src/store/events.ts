import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

export interface NewEvent {
  type: string;
  occurredAt: Date;
  carrierId?: string | null;
  memberId?: string | null;
  enrollmentId?: string | null;
  invoiceId?: string | null;
  paymentId?: string | null;
  data?: Record<string, unknown>;
}

/** Outbox writes: always inside the transaction of the change they describe. */
export async function appendEvents(db: Kysely<DB>, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('events')
    .values(
      events.map((e) => ({
        type: e.type,
        occurred_at: e.occurredAt,
        carrier_id: e.carrierId ?? null,
        member_id: e.memberId ?? null,
        enrollment_id: e.enrollmentId ?? null,
        invoice_id: e.invoiceId ?? null,
        payment_id: e.paymentId ?? null,
        data: JSON.stringify({
          ...(e.enrollmentId ? { enrollmentId: e.enrollmentId } : {}),
          ...(e.invoiceId ? { invoiceId: e.invoiceId } : {}),
          ...(e.paymentId ? { paymentId: e.paymentId } : {}),
          ...(e.memberId ? { memberId: e.memberId } : {}),
          ...(e.carrierId ? { carrierId: e.carrierId } : {}),
          ...e.data,
        }),
      })),
    )
    .execute();
}
