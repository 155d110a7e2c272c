import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Enrollment } from '../domain/enrollment.js';
import type { Invoice } from '../domain/invoice.js';
import { last4, type Payment, type PaymentRequest, type PaymentStatus } from '../domain/payment.js';
import type { InvoiceChange, Settlement } from '../domain/settlement.js';
import type { FieldCipher } from './crypto.js';
import { enrollmentFromJson, historyRow } from './enrollments.js';
import { eventRow, type NewEvent } from './events.js';
import type { IdempotencyRecord, StoredResponse } from './idempotency.js';
import { InvoiceStore, invoiceFromJson } from './invoices.js';
import { BANK_ACCOUNT_COLUMN } from './keyRotation.js';
import { ReconciliationStore } from './reconciliations.js';
import type { DB } from './schema.js';

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
    return this.contextOf(r.rows[0]?.ctx ?? {});
  }

  /**
   * A payment's first round trip (`payment_begin`, migration 0017): the Idempotency-Key's lock and
   * stored answer (as `IdempotencyStore.begin`), and, only when the key is free and new, the locked
   * context of the enrollment or invoice the payment names (as `context`).
   */
  async begin(
    apiKeyId: string,
    key: string,
    notBefore: Date,
    target: { enrollmentId: string } | { invoiceNumber: string },
  ): Promise<{ begun: { locked: boolean; found: StoredResponse | null }; context: PaymentContext | null }> {
    const enrollmentId = 'enrollmentId' in target ? target.enrollmentId : null;
    const invoiceNumber = 'invoiceNumber' in target ? target.invoiceNumber : null;
    const r = await sql<{
      locked: boolean;
      request_hash: Buffer | null;
      response_status: number | null;
      response_body: unknown;
      context: Json | null;
    }>`select * from payment_begin(${apiKeyId}, ${key}, ${notBefore}, ${enrollmentId}, ${invoiceNumber})`.execute(
      this.db,
    );
    const row = r.rows[0];
    if (!row?.locked) return { begun: { locked: false, found: null }, context: null };
    if (row.request_hash !== null && row.response_status !== null) {
      const found = { requestHash: row.request_hash, status: row.response_status, body: row.response_body };
      return { begun: { locked: true, found }, context: null };
    }
    return { begun: { locked: true, found: null }, context: row.context ? await this.contextOf(row.context) : null };
  }

  /** `payment_context`'s JSON as a context. */
  private async contextOf(read: Json): Promise<PaymentContext> {
    let ctx = read;
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
    const { special, body } = this.prepare(w, settlement, events, enrollmentId, now, idempotency);
    // Voids and credit applications (a payment that records a missed deadline, R10/I1) are rare:
    // they are written here first, voids before anything else; `payment_write` does the rest.
    if (special.length > 0) await new ReconciliationStore(this.db).writeInvoiceChanges(special);
    await sql`select payment_write(${JSON.stringify(body)}::jsonb)`.execute(this.db);
    // Months issued again after the start moved back (rare): after the binder left their month.
    if (settlement && settlement.reissued.length > 0)
      await new InvoiceStore(this.db).insertMonthly(settlement.reissued, now);
  }

  /** Nothing is kept: every write is made at once (see `batch`). */
  async flush(): Promise<void> {}

  /**
   * Writes that can wait for the end of a batch (a lockbox deposit, R34): new payments whose
   * settlement has no voids or credit applications are kept and written together by
   * `payment_write_many` (the same writes, in order); any other write flushes them first.
   */
  batch(): PaymentWriteBatch {
    return new PaymentWriteBatch(this);
  }

  /** Several `prepare`d new payments in one statement (`payment_write_many`, migration 0014), in order. */
  async writeMany(bodies: readonly Json[]): Promise<void> {
    if (bodies.length === 0) return;
    await sql`select payment_write_many(${JSON.stringify(bodies)}::jsonb)`.execute(this.db);
  }

  /**
   * The enrollments' payment contexts (as `context` reads one: the enrollment and all its invoices),
   * every enrollment locked FOR NO KEY UPDATE in id order in one statement, then their invoices
   * locked and read in one more. For a batch that knows up front what it may pay.
   */
  async contexts(enrollmentIds: readonly string[]): Promise<Map<string, PaymentContext>> {
    const out = new Map<string, PaymentContext>();
    if (enrollmentIds.length === 0) return out;
    const ids = [...enrollmentIds];
    const enrollments = await sql<{ id: string; enrollment: Json }>`
      select e.id, to_jsonb(e) || jsonb_build_object('subscriber_first_name', a.first_name,
                                                     'subscriber_last_name', a.last_name) as enrollment
      from enrollments e join accounts a on a.member_id = e.member_id
      where e.id = any(${ids}::text[])
      order by e.id
      for no key update of e`.execute(this.db);
    const invoices = await sql<{ enrollment_id: string; invoices: Json[] }>`
      select i.enrollment_id, jsonb_agg(to_jsonb(i) order by i.coverage_month, i.seq) as invoices
      from (select * from invoices where enrollment_id = any(${ids}::text[])
            order by enrollment_id, coverage_month for no key update) i
      group by i.enrollment_id`.execute(this.db);
    const byEnrollment = new Map(invoices.rows.map((r) => [r.enrollment_id, r.invoices.map(invoiceFromJson)]));
    for (const row of enrollments.rows) {
      const list = byEnrollment.get(row.id) ?? [];
      const binder = list.find((i) => i.isBinder)?.id ?? null;
      out.set(row.id, { invoice: null, enrollment: enrollmentFromJson(row.enrollment, binder), invoices: list });
    }
    return out;
  }

  /** The `payment_write` body of a decision, and the invoice changes that must be written before it. */
  prepare(
    w: PaymentWrite,
    settlement: Settlement | null,
    events: NewEvent[],
    enrollmentId: string | null,
    now: Date,
    idempotency: IdempotencyRecord | null,
  ): { special: InvoiceChange[]; body: Json } {
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
    const changes = settlement?.invoices ?? [];
    const special = changes.filter((c) => c.voidedAt || c.creditDeltaCents);
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
    return { special, body };
  }
}

/** The arguments of `PaymentWriteStore.write`, so a batch can stand in for it. */
export interface PaymentWriter {
  write(...args: Parameters<PaymentWriteStore['write']>): Promise<void>;
  /** Writes what is kept (nothing for an immediate writer). */
  flush(): Promise<void>;
}

/** Batches of this many payments per statement keep each statement short and its JSON small. */
const BATCH_SIZE = 500;

/**
 * See `PaymentWriteStore.batch`. A full batch is sent without waiting for it: the database writes
 * it while the next payments are decided (the transaction's one connection runs statements in the
 * order they were sent, so a later read still sees it). `flush` waits for everything sent.
 */
export class PaymentWriteBatch implements PaymentWriter {
  private pending: Json[] = [];
  private sent: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;

  constructor(private readonly store: PaymentWriteStore) {}

  async write(...args: Parameters<PaymentWriteStore['write']>): Promise<void> {
    this.throwIfFailed();
    const [w, settlement, events, enrollmentId, now, idempotency] = args;
    const { special, body } = this.store.prepare(w, settlement, events, enrollmentId, now, idempotency);
    if (w.mode !== 'insert' || special.length > 0 || idempotency || (settlement?.reissued.length ?? 0) > 0) {
      await this.flush();
      await this.store.write(...args);
      return;
    }
    this.pending.push(body);
    if (this.pending.length >= BATCH_SIZE) this.send();
  }

  async flush(): Promise<void> {
    this.send();
    await this.sent;
    this.throwIfFailed();
  }

  private send(): void {
    if (this.pending.length === 0) return;
    const bodies = this.pending;
    this.pending = [];
    this.sent = this.sent.then(() =>
      this.failure
        ? undefined
        : this.store.writeMany(bodies).catch((error: unknown) => {
            this.failure = { error };
          }),
    );
  }

  /**
   * The error to report for `err`: a batch that failed while later statements ran aborted the
   * transaction, so theirs ("transaction is aborted") would hide the real cause (a deadlock to
   * retry, a time-out to answer 503).
   */
  causeOf(err: unknown): unknown {
    return this.failure ? this.failure.error : err;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
