import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Enrollment } from '../domain/enrollment.js';
import type { Invoice } from '../domain/invoice.js';
import { last4, type Payment, type PaymentRequest, type PaymentStatus } from '../domain/payment.js';
import type { Settlement } from '../domain/settlement.js';
import type { FieldCipher } from './crypto.js';
import { type EnrollmentJoinedRow, historyRow, toEnrollment } from './enrollments.js';
import { eventRow, type NewEvent } from './events.js';
import type { IdempotencyRecord } from './idempotency.js';
import { toInvoice } from './invoices.js';
import { BANK_ACCOUNT_COLUMN } from './keyRotation.js';
import { ReconciliationStore } from './reconciliations.js';
import type { DB, InvoiceRow } from './schema.js';

/** Same shape as the column default: `pay_` and a UUID without dashes. Made here so one write can use it. */
export function newPaymentId(): string {
  return `pay_${randomUUID().replaceAll('-', '')}`;
}

export interface PaymentContext {
  /** Set when the payment named an invoice number: what that number resolved to. */
  invoice: { id: string; enrollmentId: string; memberId: string; voided: boolean } | null;
  /** Locked FOR NO KEY UPDATE; null when it does not exist. */
  enrollment: Enrollment | null;
  /** All of the enrollment's invoices, oldest month first, read after the lock. */
  invoices: Invoice[];
}

type Json = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

function enrollmentFromJson(j: Json, binderInvoiceId: string | null): Enrollment {
  const row = {
    ...j,
    selected_at: date(j.selected_at),
    paid_in_full_at: date(j.paid_in_full_at),
    confirmed_at: date(j.confirmed_at),
    cancelled_at: date(j.cancelled_at),
    terminated_at: date(j.terminated_at),
    created_at: date(j.created_at),
    updated_at: date(j.updated_at),
    binder_invoice_id: binderInvoiceId,
  } as unknown as EnrollmentJoinedRow;
  return toEnrollment(row, []);
}

function invoiceFromJson(j: Json): Invoice {
  return toInvoice({ ...j, issued_at: date(j.issued_at), voided_at: date(j.voided_at) } as unknown as InvoiceRow);
}

const bytea = (b: Buffer) => `\\x${b.toString('hex')}`;

/** A new payment, or an unapplied one being applied (only status, ids and amounts change). */
export type PaymentWrite =
  | { mode: 'insert'; payment: Payment; request: PaymentRequest; actor: string }
  | { mode: 'update'; payment: Payment };

/**
 * The payment hot path's storage: one call reads the locked context, one call writes the whole
 * decision (PL/pgSQL functions of migration 0006), so a payment costs a handful of round trips.
 */
export class PaymentWriteStore {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly cipher?: FieldCipher,
  ) {}

  async context(target: { enrollmentId: string } | { invoiceNumber: string }): Promise<PaymentContext> {
    const enrollmentId = 'enrollmentId' in target ? target.enrollmentId : null;
    const invoiceNumber = 'invoiceNumber' in target ? target.invoiceNumber : null;
    const r = await sql<{ ctx: Json }>`select payment_context(${enrollmentId}, ${invoiceNumber}) as ctx`.execute(
      this.db,
    );
    let ctx = r.rows[0]?.ctx ?? {};
    const inv = ctx.invoice as Json | null | undefined;
    // payment_context stops at a void invoice; R24 still records the money on its enrollment, so read
    // (and lock) that enrollment too (a second round trip, only for this rare case).
    if (inv?.voided && !ctx.enrollment) {
      const again = await sql<{
        ctx: Json;
      }>`select payment_context(${inv.enrollment_id as string}, null) as ctx`.execute(this.db);
      ctx = { ...(again.rows[0]?.ctx ?? {}), invoice: inv };
    }
    const invoices = ((ctx.invoices as Json[] | undefined) ?? []).map(invoiceFromJson);
    const binder = invoices.find((i) => i.isBinder)?.id ?? null;
    return {
      invoice: inv
        ? {
            id: inv.id as string,
            enrollmentId: inv.enrollment_id as string,
            memberId: inv.member_id as string,
            voided: inv.voided as boolean,
          }
        : null,
      enrollment: ctx.enrollment ? enrollmentFromJson(ctx.enrollment as Json, binder) : null,
      invoices,
    };
  }

  /** Writes the payment, its settlement (if any) and the idempotency record in one statement. */
  async write(
    w: PaymentWrite,
    settlement: Settlement | null,
    events: NewEvent[],
    enrollmentId: string | null,
    now: Date,
    idempotency: IdempotencyRecord | null,
  ): Promise<void> {
    const p = w.payment;
    let payment: Json = {
      id: p.id,
      status: p.status satisfies PaymentStatus,
      member_id: p.memberId,
      enrollment_id: p.enrollmentId,
      credited_cents: p.creditedCents,
      unapplied_cents: p.unappliedCents,
    };
    if (w.mode === 'insert') {
      const req = w.request;
      let encrypted: { keyId: string; blob: Buffer } | null = null;
      if (req.bankAccount) {
        if (!this.cipher) throw new Error('PaymentWriteStore needs a cipher to store bank accounts');
        encrypted = this.cipher.encrypt(req.bankAccount.accountNumber, { column: BANK_ACCOUNT_COLUMN, rowId: p.id });
      }
      payment = {
        ...payment,
        channel: p.channel,
        method: p.method,
        amount_cents: p.amountCents,
        received_at: p.receivedAt,
        guest: p.guest,
        target: p.target,
        bank_routing_number: req.bankAccount?.routingNumber ?? null,
        bank_account_last4: req.bankAccount ? last4(req.bankAccount.accountNumber) : null,
        bank_account_ciphertext: encrypted ? bytea(encrypted.blob) : null,
        bank_account_key_id: encrypted?.keyId ?? null,
        card_token: req.card?.token ?? null,
        card_brand: req.card?.brand ?? null,
        card_last4: req.card?.last4 ?? null,
        card_exp_month: req.card?.expMonth ?? null,
        card_exp_year: req.card?.expYear ?? null,
        check_number: req.check?.checkNumber ?? null,
        money_order_serial: req.moneyOrder?.serialNumber ?? null,
        payable_to: req.check?.payableTo ?? req.moneyOrder?.payableTo ?? null,
        created_at: p.createdAt,
        actor: w.actor,
      };
    }
    // Voids and credit applications (a payment that records a missed deadline, R10/I1) are rare:
    // they are written here first, voids before anything else; `payment_write` does the rest.
    const changes = settlement?.invoices ?? [];
    const special = changes.filter((c) => c.voidedAt || c.creditDeltaCents);
    if (special.length > 0) await new ReconciliationStore(this.db).writeInvoiceChanges(special);
    const plain = changes.filter((c) => !special.includes(c));
    const e = settlement?.enrollment;
    const body = {
      mode: w.mode,
      payment,
      applications: (settlement?.applications ?? []).map((a) => ({
        invoice_id: a.invoiceId,
        amount_cents: a.amountCents,
        applied_at: now,
      })),
      invoices: plain.map((c) => ({
        id: c.invoiceId,
        paid_delta_cents: c.paidDeltaCents,
        coverage_month: c.coverageMonth ?? null,
        due_date: c.dueDate ?? null,
      })),
      enrollment:
        e && enrollmentId
          ? {
              id: enrollmentId,
              status: e.status ?? null,
              coverage_start: e.coverageStart ?? null,
              paid_in_full_at: e.paidInFullAt ?? null,
              confirmation_expected_by: e.confirmationExpectedBy ?? null,
              id_card_expected_by: e.idCardExpectedBy ?? null,
              credit_delta_cents: e.creditDeltaCents,
              updated_at: now,
            }
          : null,
      history: enrollmentId ? (settlement?.history ?? []).map((h) => historyRow(enrollmentId, h)) : [],
      events: events.map(eventRow),
      idempotency: idempotency
        ? {
            api_key_id: idempotency.apiKeyId,
            key: idempotency.key,
            request_hash: bytea(idempotency.requestHash),
            response_status: idempotency.status,
            response_body: idempotency.body,
            created_at: idempotency.at,
          }
        : null,
    };
    await sql`select payment_write(${JSON.stringify(body)}::jsonb)`.execute(this.db);
  }
}
