import { type Kysely, sql } from 'kysely';
import type { BillableEnrollment, MonthlyInvoice } from '../domain/billing.js';
import type { IsoDate } from '../domain/dates.js';
import type { Enrollment, EnrollmentStatus } from '../domain/enrollment.js';
import type { EventType } from '../domain/events.js';
import type { Delivery, Invoice, InvoiceDetail, InvoiceStatus } from '../domain/invoice.js';
import type { Scope } from '../domain/principal.js';
import { CompiledQueries, slot } from './compiled.js';
import { delinquencyCandidateSql, enrollmentFromJson } from './enrollments.js';
import { type Page, pageOf, seqPageRows } from './pagination.js';
import type { DB, InvoiceRow } from './schema.js';

export type { InvoiceDetail };

type DetailRow = InvoiceRow & {
  first_name: string;
  last_name: string;
  carrier_id: string;
  carrier_name: string;
  enrollment_status: EnrollmentStatus;
  enrollment_coverage_start: string;
};

export function toInvoice(row: InvoiceRow): Invoice {
  return {
    id: row.id,
    invoiceNumber: row.invoice_number,
    enrollmentId: row.enrollment_id,
    memberId: row.member_id,
    coverageMonth: row.coverage_month as IsoDate,
    dueDate: row.due_date as IsoDate,
    amountDueCents: row.amount_due_cents,
    amountPaidCents: row.amount_paid_cents,
    creditAppliedCents: row.credit_applied_cents,
    isBinder: row.is_binder,
    delivery: row.delivery,
    issuedAt: row.issued_at,
    voidedAt: row.voided_at,
  };
}

/** An invoice row read as JSON (`to_jsonb(i)` / `json_agg(i)`). */
export function invoiceFromJson(j: Record<string, unknown>): Invoice {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return toInvoice({ ...j, issued_at: date(j.issued_at), voided_at: date(j.voided_at) } as unknown as InvoiceRow);
}

function toDetail(row: DetailRow): InvoiceDetail {
  return {
    ...toInvoice(row),
    subscriber: { firstName: row.first_name, lastName: row.last_name },
    carrierId: row.carrier_id,
    carrierName: row.carrier_name,
    enrollment: { status: row.enrollment_status, coverageStart: row.enrollment_coverage_start as IsoDate },
  };
}

export interface InvoiceFilter {
  memberId?: string | undefined;
  enrollmentId?: string | undefined;
  status?: InvoiceStatus | undefined;
  /**
   * R30 `?status=void`: void, or a live invoice of an enrollment whose projection may show a
   * termination the sweep has not recorded yet (the service keeps those its projection shows void).
   */
  voidOrCandidatesOn?: IsoDate | undefined;
}

export interface BillingRunResult {
  issuedCount: number;
  creditAppliedCents: number;
}

const BILLING_RUN_LOCK = 7_301_001;

/** A slice of enrollments by sequence number: (afterSeq, toSeq]. */
export interface SeqRange {
  afterSeq: number;
  toSeq: number;
}

const COMPILED = new CompiledQueries();

export class InvoiceStore {
  constructor(private readonly db: Kysely<DB>) {}

  private detail(scope: Scope) {
    let q = this.db
      .selectFrom('invoices as i')
      .innerJoin('enrollments as e', 'e.id', 'i.enrollment_id')
      .innerJoin('accounts as a', 'a.member_id', 'i.member_id')
      .innerJoin('carriers as c', 'c.id', 'e.carrier_id')
      .selectAll('i')
      .select([
        'a.first_name',
        'a.last_name',
        'e.carrier_id',
        'c.name as carrier_name',
        'e.status as enrollment_status',
        'e.coverage_start as enrollment_coverage_start',
      ]);
    if (scope.carrierId !== null) q = q.where('e.carrier_id', '=', scope.carrierId);
    return q;
  }

  async get(id: string, scope: Scope): Promise<InvoiceDetail | null> {
    const row = await this.detail(scope).where('i.id', '=', id).executeTakeFirst();
    return row ? toDetail(row as DetailRow) : null;
  }

  /**
   * GET by id in one statement: the invoice detail, and for an enrollment that may be delinquent (the
   * projection's R30 facts) that enrollment, without history, and all its invoices. Unlocked.
   */
  async getWithFacts(
    id: string,
    scope: Scope,
    withFacts: readonly EnrollmentStatus[],
  ): Promise<{ invoice: InvoiceDetail; facts: { enrollment: Enrollment; invoices: Invoice[] } | null } | null> {
    // Built once per scope kind (every GET by id runs it): see `CompiledQueries`.
    const scoped = scope.carrierId !== null;
    const [row] = await COMPILED.run(
      this.db,
      scoped ? 'invoice with facts, carrier' : 'invoice with facts',
      () =>
        this.detail(scoped ? { carrierId: slot('carrier') } : scope)
          .select(
            sql<Record<string, unknown> | null>`case when e.status = any(${slot('statuses')}::text[]) then
              to_jsonb(e) || jsonb_build_object('subscriber_first_name', a.first_name, 'subscriber_last_name', a.last_name,
                'invoices', (select coalesce(jsonb_agg(to_jsonb(f) order by f.coverage_month, f.seq), '[]'::jsonb)
                             from invoices f where f.enrollment_id = e.id)) end`.as('facts_json'),
          )
          .where('i.id', '=', slot('id')),
      { id, carrier: scope.carrierId, statuses: [...withFacts] },
    );
    if (!row) return null;
    const { facts_json, ...detail } = row as DetailRow & { facts_json: Record<string, unknown> | null };
    const invoice = toDetail(detail as DetailRow);
    if (!facts_json) return { invoice, facts: null };
    const invoices = (facts_json.invoices as Record<string, unknown>[]).map(invoiceFromJson);
    const binder = invoices.find((i) => i.isBinder)?.id ?? null;
    return { invoice, facts: { enrollment: enrollmentFromJson(facts_json, binder), invoices } };
  }

  async list(
    filter: InvoiceFilter,
    scope: Scope,
    limit: number,
    after: string | undefined,
  ): Promise<Page<InvoiceDetail>> {
    let q = this.detail(scope);
    if (filter.memberId) q = q.where('i.member_id', '=', filter.memberId);
    if (filter.enrollmentId) q = q.where('i.enrollment_id', '=', filter.enrollmentId);
    // The generated status column mirrors `invoiceStatus` (the one source) as an index/filter helper.
    if (filter.status) q = q.where('i.status', '=', filter.status);
    const voidOn = filter.voidOrCandidatesOn;
    if (voidOn) {
      q = q.where((eb) =>
        eb.or([
          eb('i.status', '=', 'void'),
          delinquencyCandidateSql(voidOn)(eb as unknown as Parameters<ReturnType<typeof delinquencyCandidateSql>>[0]),
        ]),
      );
    }
    const rows = await seqPageRows<DetailRow>(q, 'i.seq', after, limit);
    return pageOf(rows, limit, toDetail);
  }

  async insertBinder(values: {
    enrollmentId: string;
    memberId: string;
    coverageMonth: IsoDate;
    dueDate: IsoDate;
    amountDueCents: number;
    delivery: Delivery;
    issuedAt: Date;
  }): Promise<Invoice> {
    const row = await this.db
      .insertInto('invoices')
      .values({
        enrollment_id: values.enrollmentId,
        member_id: values.memberId,
        coverage_month: values.coverageMonth,
        due_date: values.dueDate,
        amount_due_cents: values.amountDueCents,
        is_binder: true,
        delivery: values.delivery,
        issued_at: values.issuedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toInvoice(row);
  }

  /**
   * R13: void the enrollment's invoices; returns what had been paid on them. Cancellation happens
   * before the carrier confirmed, so no month was ever covered: a paid binder is voided too and its
   * money becomes credit for ops to refund, like partial payments.
   */
  async voidForCancellation(enrollmentId: string, at: Date): Promise<{ voided: Invoice[]; paidCents: number }> {
    const rows = await this.db
      .updateTable('invoices')
      .set({ voided_at: at })
      .where('enrollment_id', '=', enrollmentId)
      .where('voided_at', 'is', null)
      .returningAll()
      .execute();
    const voided = rows.map(toInvoice);
    return { voided, paidCents: voided.reduce((sum, i) => sum + i.amountPaidCents, 0) };
  }

  async enrollmentsOf(invoiceIds: string[]): Promise<string[]> {
    if (invoiceIds.length === 0) return [];
    const rows = await this.db.selectFrom('invoices').select('enrollment_id').where('id', 'in', invoiceIds).execute();
    return rows.map((r) => r.enrollment_id);
  }

  async forEnrollment(enrollmentId: string): Promise<Invoice[]> {
    const rows = await this.db
      .selectFrom('invoices')
      .selectAll()
      .where('enrollment_id', '=', enrollmentId)
      .orderBy('coverage_month')
      .execute();
    return rows.map(toInvoice);
  }

  /**
   * Transaction-scoped lock on a range of enrollments: two runs on one range take turns instead of
   * queueing on its enrollments' row locks. `chunk` names the range (its index at the run's chunk size).
   */
  async lockBillingRuns(chunk: number): Promise<void> {
    await sql`select pg_advisory_xact_lock(${BILLING_RUN_LOCK}::int4, ${chunk}::int4)`.execute(this.db);
  }

  /** The id of the enrollment with this sequence number (to name one that a run could not bill). */
  async enrollmentIdAtSeq(seq: number): Promise<string | null> {
    const row = await this.db.selectFrom('enrollments').select('id').where('seq', '=', seq).executeTakeFirst();
    return row?.id ?? null;
  }

  /** The highest enrollment sequence number: billing runs walk enrollments in chunks up to it. */
  async lastEnrollmentSeq(): Promise<number> {
    const r = await sql<{ last: number }>`select coalesce(max(seq), 0)::int8 as last from enrollments`.execute(this.db);
    return Number(r.rows[0]?.last ?? 0);
  }

  /**
   * The billing run's read: the range's enrollments that `isBilledFor` the month (the where clause
   * mirrors that domain function, as a pre-filter), with what `monthlyInvoice` decides on.
   *
   * They are locked FOR NO KEY UPDATE (in id order, like every writer that locks several), the same
   * lock every writer of an enrollment takes (payments, returns, cancellations, confirmations,
   * sweeps). A row another transaction is changing is waited for, and READ COMMITTED then re-checks
   * status and start on its newest committed version and returns that version, so the run decides on
   * committed status and credit, never on its snapshot (I2, I3). Until the chunk commits, no writer
   * can change an enrollment it billed; a writer that comes later sees the invoice.
   */
  async lockBillable(
    month: IsoDate,
    billable: readonly EnrollmentStatus[],
    range: SeqRange,
  ): Promise<BillableEnrollment[]> {
    const r = await sql<{
      id: string;
      member_id: string;
      carrier_id: string;
      status: EnrollmentStatus;
      coverage_start: string;
      monthly_premium_cents: number;
      credit_cents: number;
      coverage_end: string | null;
      paperless: boolean | null;
    }>`
      select e.id, e.member_id, e.carrier_id, e.status, e.coverage_start,
             e.monthly_premium_cents, e.credit_cents, e.coverage_end,
             (select a.paperless from accounts a where a.member_id = e.member_id) as paperless
      from enrollments e
      where e.status = any(${sql.val(billable)}::text[]) and e.coverage_start <= ${month}::date
        and (e.coverage_end is null or e.coverage_end >= ${month}::date)
        and e.seq > ${range.afterSeq} and e.seq <= ${range.toSeq}
      order by e.id
      for no key update of e
    `.execute(this.db);
    return r.rows.map((row) => ({
      id: row.id,
      memberId: row.member_id,
      carrierId: row.carrier_id,
      status: row.status,
      coverageStart: row.coverage_start as IsoDate,
      monthlyPremiumCents: row.monthly_premium_cents,
      creditCents: row.credit_cents,
      paperless: row.paperless === true,
      coverageEnd: row.coverage_end as IsoDate | null,
    }));
  }

  /**
   * R16: writes the invoices a run decided (`monthlyInvoices`) for enrollments the caller locked
   * (`lockBillable`, same transaction), in one statement: each gets a fresh invoice number; the
   * live-invoice key skips an enrollment and month that already has its invoice (a repeated or
   * concurrent run issues nothing twice, I1); the credit applied comes off the enrollment's credit
   * only for invoices actually inserted; and each inserted invoice gets its `invoice.issued` event.
   */
  async insertMonthly(invoices: readonly MonthlyInvoice[], now: Date): Promise<BillingRunResult> {
    if (invoices.length === 0) return { issuedCount: 0, creditAppliedCents: 0 };
    const col = <T>(f: (i: MonthlyInvoice) => T) => invoices.map(f);
    const issued: EventType = 'invoice.issued';
    const result = await sql<{ issued: number; credit: number }>`
      with decided as (
        select *
        from unnest(${col((i) => i.enrollmentId)}::text[], ${col((i) => i.memberId)}::text[],
                    ${col((i) => i.carrierId)}::text[], ${col((i) => i.coverageMonth)}::date[],
                    ${col((i) => i.dueDate)}::date[], ${col((i) => i.amountDueCents)}::int8[],
                    ${col((i) => i.creditAppliedCents)}::int8[], ${col((i) => i.delivery)}::text[])
             as d(enrollment_id, member_id, carrier_id, coverage_month, due_date, amount_due, credit, delivery)
      ),
      ins as (
        insert into invoices (invoice_number, enrollment_id, member_id, coverage_month, due_date, amount_due_cents,
                              amount_paid_cents, credit_applied_cents, delivery, issued_at)
        select n::text || luhn_digit(n), enrollment_id, member_id, coverage_month, due_date, amount_due, credit, credit,
               delivery, ${now}::timestamptz
        from (select *, nextval('invoice_number_seq') as n from decided) numbered
        on conflict (enrollment_id, coverage_month, (case when voided_at is null then true end)) do nothing
        returning id, enrollment_id, member_id, coverage_month, credit_applied_cents
      ),
      spent as (
        update enrollments e
        set credit_cents = e.credit_cents - ins.credit_applied_cents, updated_at = ${now}::timestamptz
        from ins
        where e.id = ins.enrollment_id and ins.credit_applied_cents > 0
      ),
      evs as (
        insert into events (type, occurred_at, carrier_id, member_id, enrollment_id, invoice_id, data)
        select ${issued}, ${now}::timestamptz, d.carrier_id, ins.member_id, ins.enrollment_id, ins.id,
               jsonb_build_object('invoiceId', ins.id, 'enrollmentId', ins.enrollment_id, 'memberId', ins.member_id,
                                  'carrierId', d.carrier_id, 'coverageMonth', to_char(ins.coverage_month, 'YYYY-MM-DD'))
        from ins join decided d on d.enrollment_id = ins.enrollment_id
      )
      select count(*)::int as issued, coalesce(sum(credit_applied_cents), 0)::int8 as credit from ins
    `.execute(this.db);
    const row = result.rows[0];
    return { issuedCount: row?.issued ?? 0, creditAppliedCents: Number(row?.credit ?? 0) };
  }

  /** Every invoice of these enrollments (void ones included), by enrollment, oldest month first. */
  async forEnrollments(enrollmentIds: readonly string[]): Promise<Map<string, Invoice[]>> {
    const out = new Map<string, Invoice[]>();
    if (enrollmentIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('invoices')
      .selectAll()
      .where('enrollment_id', 'in', [...enrollmentIds])
      .orderBy('coverage_month')
      .execute();
    for (const r of rows) out.set(r.enrollment_id, [...(out.get(r.enrollment_id) ?? []), toInvoice(r)]);
    return out;
  }
}
