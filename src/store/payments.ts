import type { Kysely } from 'kysely';
import type { Channel, PaymentMethod } from '../domain/channels.js';
import type { Payment, PaymentApplication, PaymentStatus } from '../domain/payment.js';
import { type Page, pageOf, seqPageRows } from './pagination.js';
import type { DB, PaymentRow } from './schema.js';

function toPayment(row: PaymentRow, applications: PaymentApplication[]): Payment {
  return {
    id: row.id,
    status: row.status,
    channel: row.channel as Channel,
    method: row.method as PaymentMethod,
    amountCents: row.amount_cents,
    receivedAt: row.received_at,
    memberId: row.member_id,
    enrollmentId: row.enrollment_id,
    guest: row.guest,
    target: row.target,
    applications,
    creditedCents: row.credited_cents,
    unappliedCents: row.unapplied_cents,
    bankAccount:
      row.bank_routing_number && row.bank_account_last4
        ? { routingNumber: row.bank_routing_number, last4: row.bank_account_last4 }
        : null,
    card:
      row.card_brand && row.card_last4
        ? {
            brand: row.card_brand,
            last4: row.card_last4,
            expMonth: row.card_exp_month ?? 0,
            expYear: row.card_exp_year ?? 0,
          }
        : null,
    check: row.check_number !== null ? { checkNumber: row.check_number, payableTo: row.payable_to ?? '' } : null,
    moneyOrder:
      row.money_order_serial !== null
        ? { serialNumber: row.money_order_serial, payableTo: row.payable_to ?? '' }
        : null,
    returnedAt: row.returned_at,
    returnReasonCode: row.return_reason_code,
    createdAt: row.created_at,
    achFileId: row.ach_file_id,
    traceNumber: row.ach_trace_number,
  };
}

export class PaymentStore {
  constructor(private readonly db: Kysely<DB>) {}

  private async withApplications(rows: PaymentRow[]): Promise<Payment[]> {
    if (rows.length === 0) return [];
    const apps = await this.db
      .selectFrom('payment_applications')
      .selectAll()
      .where(
        'payment_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('id')
      .execute();
    const byPayment = new Map<string, PaymentApplication[]>();
    for (const a of apps) {
      const list = byPayment.get(a.payment_id) ?? [];
      list.push({
        invoiceId: a.invoice_id,
        amountCents: a.amount_cents,
        appliedAt: a.applied_at,
        reversedAt: a.reversed_at,
      });
      byPayment.set(a.payment_id, list);
    }
    return rows.map((r) => toPayment(r, byPayment.get(r.id) ?? []));
  }

  async get(id: string, opts: { forUpdate?: boolean } = {}): Promise<Payment | null> {
    let q = this.db.selectFrom('payments').selectAll().where('id', '=', id);
    if (opts.forUpdate) q = q.forNoKeyUpdate();
    const row = await q.executeTakeFirst();
    if (!row) return null;
    return (await this.withApplications([row]))[0] ?? null;
  }

  async list(
    filter: { memberId?: string | undefined; status?: PaymentStatus | undefined },
    limit: number,
    after: string | undefined,
  ): Promise<Page<Payment>> {
    let q = this.db.selectFrom('payments').selectAll();
    if (filter.memberId) q = q.where('member_id', '=', filter.memberId);
    if (filter.status) q = q.where('status', '=', filter.status);
    const rows = await seqPageRows<PaymentRow>(q, 'seq', after, limit);
    const page = pageOf(rows, limit, (r) => r);
    return { data: await this.withApplications(page.data), nextCursor: page.nextCursor };
  }

  async markReturned(paymentId: string, at: Date, reasonCode: string): Promise<void> {
    await this.db
      .updateTable('payments')
      .set({ status: 'returned', returned_at: at, return_reason_code: reasonCode })
      .where('id', '=', paymentId)
      .execute();
    await this.db
      .updateTable('payment_applications')
      .set({ reversed_at: at })
      .where('payment_id', '=', paymentId)
      .where('reversed_at', 'is', null)
      .execute();
  }
}
