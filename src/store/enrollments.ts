import {
  type ExpressionBuilder,
  type Kysely,
  type RawBuilder,
  type SelectQueryBuilder,
  sql,
  type Updateable,
} from 'kysely';
import type { IsoDate } from '../domain/dates.js';
import type { DelinquencyStage, RecordedDelinquency, Subsidy } from '../domain/delinquency.js';
import type {
  Enrollment,
  EnrollmentChange,
  EnrollmentFlag,
  EnrollmentStatus,
  HistoryEntry,
  HistoryType,
} from '../domain/enrollment.js';
import type { Invoice, InvoiceStatus } from '../domain/invoice.js';
import type { Role, Scope } from '../domain/principal.js';
import { CompiledQueries, slot } from './compiled.js';
import { invoiceFromJson } from './invoices.js';
import { decodeCursor, type Page, pageOf, seqPageRows } from './pagination.js';
import type { DB, EnrollmentHistoryRow, EnrollmentRow, EnrollmentsTable } from './schema.js';

export type EnrollmentJoinedRow = EnrollmentRow & {
  binder_invoice_id: string | null;
  subscriber_first_name: string;
  subscriber_last_name: string;
};

function toHistory(r: EnrollmentHistoryRow & { actor_role: Role | null }): HistoryEntry {
  return {
    at: r.at,
    type: r.type,
    from: r.from_value,
    to: r.to_value,
    reason: r.reason,
    actor: r.actor,
    actorRole: r.actor_role,
  };
}

export function historyRow(enrollmentId: string, h: HistoryEntry) {
  return {
    enrollment_id: enrollmentId,
    at: h.at,
    type: h.type,
    from_value: h.from,
    to_value: h.to,
    reason: h.reason,
    actor: h.actor,
  };
}

type Json = Record<string, unknown>;
const jsonDate = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

/** An enrollment row read as JSON (`to_jsonb(e)` with the subscriber's names), without its history. */
export function enrollmentFromJson(j: Json, binderInvoiceId: string | null): Enrollment {
  const row = {
    ...j,
    selected_at: jsonDate(j.selected_at),
    paid_in_full_at: jsonDate(j.paid_in_full_at),
    confirmed_at: jsonDate(j.confirmed_at),
    cancelled_at: jsonDate(j.cancelled_at),
    terminated_at: jsonDate(j.terminated_at),
    created_at: jsonDate(j.created_at),
    updated_at: jsonDate(j.updated_at),
    binder_invoice_id: binderInvoiceId,
  } as unknown as EnrollmentJoinedRow;
  return toEnrollment(row, []);
}

export function toEnrollment(row: EnrollmentJoinedRow, history: HistoryEntry[]): Enrollment {
  return {
    id: row.id,
    memberId: row.member_id,
    carrierId: row.carrier_id,
    coverageType: row.coverage_type,
    planName: row.plan_name,
    monthlyPremiumCents: row.monthly_premium_cents,
    status: row.status,
    chosenCoverageStart: row.chosen_coverage_start as IsoDate,
    coverageStart: row.coverage_start as IsoDate,
    selectedAt: row.selected_at,
    binderInvoiceId: row.binder_invoice_id,
    subscriber: { firstName: row.subscriber_first_name, lastName: row.subscriber_last_name },
    paidInFullAt: row.paid_in_full_at,
    confirmationExpectedBy: row.confirmation_expected_by as IsoDate | null,
    idCardExpectedBy: row.id_card_expected_by as IsoDate | null,
    confirmedAt: row.confirmed_at,
    carrierPolicyId: row.carrier_policy_id,
    cancelledAt: row.cancelled_at,
    creditCents: row.credit_cents,
    flags: row.flags as EnrollmentFlag[],
    createdAt: row.created_at,
    history,
    subsidy: row.subsidy,
    coverageEnd: row.coverage_end as IsoDate | null,
    terminationReason: row.termination_reason,
    terminatedAt: row.terminated_at,
    terminatedOn: row.terminated_on as IsoDate | null,
    statusBeforeTermination: row.status_before_termination,
    recordedDelinquency:
      row.delinquency_anchor && row.delinquency_stage
        ? { anchor: row.delinquency_anchor as IsoDate, stage: row.delinquency_stage }
        : null,
  };
}

export interface EnrollmentFilter {
  memberId?: string | undefined;
  status?: EnrollmentStatus | undefined;
  carrierId?: string | undefined;
  flag?: EnrollmentFlag | undefined;
  /**
   * R29 `?delinquency=`: only candidates (binder paid with a recorded episode or a late live balance
   * as of `today`); the service computes the standing of each and keeps those that match.
   */
  delinquencyCandidatesOn?: IsoDate | undefined;
  /**
   * R30 `?status=terminated`: terminated, or a candidate whose projection may show a termination the
   * sweep has not recorded yet (the service keeps those whose projected status matches).
   */
  terminatedOrCandidatesOn?: IsoDate | undefined;
}

/** The columns an `EnrollmentChange` sets (credit and flags are set from their old values in `update`). */
function columnsOf(c: EnrollmentChange): Updateable<EnrollmentsTable> {
  return {
    ...(c.status ? { status: c.status } : {}),
    ...(c.coverageStart ? { coverage_start: c.coverageStart } : {}),
    ...(c.clearPaidInFull ? { paid_in_full_at: null, confirmation_expected_by: null, id_card_expected_by: null } : {}),
    ...(c.paidInFullAt ? { paid_in_full_at: c.paidInFullAt } : {}),
    ...(c.confirmationExpectedBy ? { confirmation_expected_by: c.confirmationExpectedBy } : {}),
    ...(c.idCardExpectedBy ? { id_card_expected_by: c.idCardExpectedBy } : {}),
    ...(c.confirmedAt ? { confirmed_at: c.confirmedAt } : {}),
    ...(c.carrierPolicyId !== undefined ? { carrier_policy_id: c.carrierPolicyId } : {}),
    ...(c.cancelledAt ? { cancelled_at: c.cancelledAt } : {}),
    ...(c.recordedDelinquency !== undefined
      ? {
          delinquency_anchor: c.recordedDelinquency?.anchor ?? null,
          delinquency_stage: c.recordedDelinquency?.stage ?? null,
        }
      : {}),
    ...(c.termination ? terminationColumns(c.termination) : {}),
    ...(c.clearTermination
      ? {
          coverage_end: null,
          termination_reason: null,
          terminated_at: null,
          terminated_on: null,
          status_before_termination: null,
        }
      : {}),
  };
}

function terminationColumns(t: NonNullable<EnrollmentChange['termination']>): Updateable<EnrollmentsTable> {
  return {
    coverage_end: t.coverageEnd,
    termination_reason: t.reason,
    terminated_at: t.terminatedAt,
    terminated_on: t.terminatedOn,
    status_before_termination: t.statusBefore,
  };
}

/**
 * "Owes money" in SQL: the enrollment `e` has an invoice with a balance. It mirrors the domain's
 * `owesMoney`/`hasBalance` (src/domain/invoice.ts), the one definition, through the generated
 * `invoices.status` column (itself a mirror of `invoiceStatus`); it exists because matching must
 * filter a member's enrollments in the database. test/unit/owes-money-sql.test.ts compares the two
 * on a table of invoices; change both together.
 */
export const OWING_STATUSES = ['open', 'partially_paid'] as const satisfies readonly InvoiceStatus[];
function owesMoneySql({ exists, selectFrom }: ExpressionBuilder<DB & { e: EnrollmentsTable }, 'e'>) {
  return exists(
    selectFrom('invoices as i')
      .select('i.id')
      .whereRef('i.enrollment_id', '=', 'e.id')
      .where('i.status', 'in', OWING_STATUSES),
  );
}

/**
 * R29: enrollments that may be delinquent on `today`: binder paid (the statuses `canBeDelinquent`
 * allows) and either a recorded episode or a live invoice past its due date with a balance
 * (`invoices_late_balance`). A superset: the domain decides (credit may pay the balance).
 */
export const DELINQUENCY_STATUSES = [
  'awaiting_confirmation',
  'confirmed',
] as const satisfies readonly EnrollmentStatus[];
export function delinquencyCandidateSql(today: IsoDate) {
  return ({ eb, or, exists, selectFrom }: ExpressionBuilder<DB & { e: EnrollmentsTable }, 'e'>) =>
    eb.and([
      eb('e.status', 'in', DELINQUENCY_STATUSES),
      or([
        eb('e.delinquency_stage', 'is not', null),
        exists(
          selectFrom('invoices as li')
            .select('li.id')
            .whereRef('li.enrollment_id', '=', 'e.id')
            .where('li.voided_at', 'is', null)
            .where(sql<boolean>`li.amount_paid_cents < li.amount_due_cents`)
            .where('li.due_date', '<', today),
        ),
      ]),
    ]);
}

/** The enrollment's binder invoice id (R9), as a subquery of a read of `enrollments as e`. */
function binderInvoiceIdSql(eb: ExpressionBuilder<DB & { e: EnrollmentsTable }, 'e'>) {
  return eb
    .selectFrom('invoices as i')
    .select('i.id')
    .whereRef('i.enrollment_id', '=', 'e.id')
    .where('i.is_binder', '=', true)
    .limit(1);
}

const COMPILED = new CompiledQueries();

/** A timestamp as the API writes it (`Date.prototype.toISOString`: UTC, milliseconds, truncated as pg parses). */
const isoText = (column: string) =>
  sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const isoTextOrNull = (column: string) => isoText(column) as unknown as RawBuilder<string | null>;

/**
 * One enrollment of a list page, lean (issue 16): the recorded values as the API writes them
 * (timestamps already as ISO text, no `Date`), its recorded history as tuples and its invoices as
 * the non-payment engine's facts, oldest month first. The service projects it (`readProjection`).
 */
export interface EnrollmentListRow {
  seq: number;
  id: string;
  memberId: string;
  carrierId: string;
  coverageType: string;
  planName: string;
  monthlyPremiumCents: number;
  status: EnrollmentStatus;
  coverageStart: IsoDate;
  chosenCoverageStart: IsoDate;
  binderInvoiceId: string | null;
  firstName: string;
  lastName: string;
  selectedAt: string;
  paidInFullAt: string | null;
  confirmationExpectedBy: IsoDate | null;
  idCardExpectedBy: IsoDate | null;
  confirmedAt: string | null;
  carrierPolicyId: string | null;
  cancelledAt: string | null;
  creditCents: number;
  flags: string[];
  createdAt: string;
  subsidy: Subsidy;
  coverageEnd: IsoDate | null;
  terminationReason: string | null;
  terminatedAt: string | null;
  delinquencyAnchor: IsoDate | null;
  delinquencyStage: DelinquencyStage | null;
  /** [at (ISO text), type, from, to, reason, actor, the actor key's role], in order; null: none. */
  history: ListHistoryTuple[] | null;
  /** [coverage month, due date, amount due, amount paid, voided], oldest month first; null: none. */
  invoices: [IsoDate, IsoDate, number, number, boolean][] | null;
}
export type ListHistoryTuple = [string, HistoryType, string | null, string, string | null, string, Role | null];

type HistoryJson = Omit<HistoryEntry, 'at'> & { at: string };
type InlineRow = EnrollmentJoinedRow & { history_json: HistoryJson[] };

export class EnrollmentStore {
  constructor(private readonly db: Kysely<DB>) {}

  private base(scope: Scope) {
    let q = this.db
      .selectFrom('enrollments as e')
      .innerJoin('accounts as a', 'a.member_id', 'e.member_id')
      .selectAll('e')
      .select(['a.first_name as subscriber_first_name', 'a.last_name as subscriber_last_name'])
      .select((eb) => binderInvoiceIdSql(eb).as('binder_invoice_id'));
    // The carrier scope is applied here, once, for every read of enrollments.
    if (scope.carrierId !== null) q = q.where('e.carrier_id', '=', scope.carrierId);
    return q;
  }

  /**
   * Reads that lock nothing get the history in the same statement (one round trip). A locking read
   * reads it after the lock instead (`withHistory`): a subquery in the locking statement would use
   * the snapshot taken before waiting for the lock and could miss the holder's entries.
   */
  private historyInline(scope: Scope) {
    return this.base(scope).select(
      sql<HistoryJson[]>`(select coalesce(json_agg(json_build_object('at', h.at, 'type', h.type, 'from', h.from_value,
        'to', h.to_value, 'reason', h.reason, 'actor', h.actor, 'actorRole', k.role) order by h.id), '[]'::json)
        from enrollment_history h left join api_keys k on k.id = h.actor where h.enrollment_id = e.id)`.as(
        'history_json',
      ),
    );
  }

  /** `toEnrollment` reads only its own columns, so the row is not copied without `history_json` (pages: GC). */
  private inline(rows: InlineRow[]): Enrollment[] {
    return rows.map((row) =>
      toEnrollment(
        row,
        row.history_json.map((h) => ({ ...h, at: new Date(h.at) })),
      ),
    );
  }

  private async withHistory(rows: EnrollmentJoinedRow[]): Promise<Enrollment[]> {
    if (rows.length === 0) return [];
    const history = await this.db
      .selectFrom('enrollment_history as h')
      .leftJoin('api_keys as k', 'k.id', 'h.actor')
      .selectAll('h')
      .select('k.role as actor_role')
      .where(
        'h.enrollment_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('h.id')
      .execute();
    const byId = new Map<string, HistoryEntry[]>();
    for (const h of history) {
      const list = byId.get(h.enrollment_id) ?? [];
      list.push(toHistory(h));
      byId.set(h.enrollment_id, list);
    }
    return rows.map((r) => toEnrollment(r, byId.get(r.id) ?? []));
  }

  /** `history: false` skips reading the history (money paths only append to it). */
  async get(
    id: string,
    scope: Scope,
    opts: { forUpdate?: boolean; history?: boolean } = {},
  ): Promise<Enrollment | null> {
    if (!opts.forUpdate && opts.history !== false) {
      const rows = await this.historyInline(scope).where('e.id', '=', id).execute();
      return this.inline(rows as InlineRow[])[0] ?? null;
    }
    let q = this.base(scope).where('e.id', '=', id);
    // NO KEY UPDATE: we never change the key, so inserts that reference the row (payments, invoices)
    // keep working while we hold it, and cannot deadlock with us over their key-share locks.
    if (opts.forUpdate) q = q.forNoKeyUpdate('e');
    const row = (await q.executeTakeFirst()) as EnrollmentJoinedRow | undefined;
    if (!row) return null;
    if (opts.history === false) return toEnrollment(row, []);
    const [e] = await this.withHistory([row]);
    return e ?? null;
  }

  /**
   * GET by id in one statement: the enrollment with its history (as `get`) and all its invoices,
   * oldest month first (what the projection needs). Unlocked.
   */
  async getWithInvoices(id: string, scope: Scope): Promise<{ enrollment: Enrollment; invoices: Invoice[] } | null> {
    // Built once per scope kind (every GET by id runs it): see `CompiledQueries`.
    const scoped = scope.carrierId !== null;
    const rows = await COMPILED.run(
      this.db,
      scoped ? 'enrollment with invoices, carrier' : 'enrollment with invoices',
      () =>
        this.historyInline(scoped ? { carrierId: slot('carrier') } : scope)
          .select(
            sql<Json[]>`(select coalesce(json_agg(i order by i.coverage_month, i.seq), '[]'::json)
              from invoices i where i.enrollment_id = e.id)`.as('invoices_json'),
          )
          .where('e.id', '=', slot('id')),
      { id, carrier: scope.carrierId },
    );
    const row = rows[0] as (InlineRow & { invoices_json: Json[] }) | undefined;
    if (!row) return null;
    return { enrollment: this.inline([row])[0] as Enrollment, invoices: row.invoices_json.map(invoiceFromJson) };
  }

  /** Several enrollments without their history, unlocked (what projections of other reads need). */
  async many(ids: readonly string[]): Promise<Enrollment[]> {
    if (ids.length === 0) return [];
    const rows = (await this.base({ carrierId: null })
      .where('e.id', 'in', [...ids])
      .execute()) as EnrollmentJoinedRow[];
    return rows.map((r) => toEnrollment(r, []));
  }

  async list(
    filter: EnrollmentFilter,
    scope: Scope,
    limit: number,
    after: string | undefined,
  ): Promise<Page<Enrollment>> {
    const rows = await seqPageRows<InlineRow>(this.filtered(filter, scope), 'e.seq', after, limit);
    const page = pageOf(rows, limit, (r) => r);
    return { data: this.inline(page.data), nextCursor: page.nextCursor };
  }

  /**
   * `list` with each enrollment's invoices (oldest month first) read in the same statement: what a
   * page of projected enrollments needs, in one round trip.
   */
  async listWithInvoices(
    filter: EnrollmentFilter,
    scope: Scope,
    limit: number,
    after: string | undefined,
  ): Promise<Page<{ enrollment: Enrollment; invoices: Invoice[] }>> {
    const q = this.filtered(filter, scope).select(
      sql<Json[]>`(select coalesce(json_agg(i order by i.coverage_month, i.seq), '[]'::json)
        from invoices i where i.enrollment_id = e.id)`.as('invoices_json'),
    );
    const rows = await seqPageRows<InlineRow & { invoices_json: Json[] }>(q, 'e.seq', after, limit);
    const page = pageOf(rows, limit, (r) => r);
    const enrollments = this.inline(page.data);
    return {
      data: page.data.map((r, i) => ({
        enrollment: enrollments[i] as Enrollment,
        invoices: r.invoices_json.map(invoiceFromJson),
      })),
      nextCursor: page.nextCursor,
    };
  }

  /**
   * A page of `list` as lean rows (`EnrollmentListRow`): what the list route writes, in one statement
   * compiled once per shape of filter (issue 16: the work-queue page).
   */
  async listPage(
    filter: EnrollmentFilter,
    scope: Scope,
    limit: number,
    after: string | undefined,
  ): Promise<Page<EnrollmentListRow>> {
    const scoped = scope.carrierId !== null;
    const key = [
      'list page',
      scoped,
      Boolean(filter.memberId),
      Boolean(filter.status),
      Boolean(filter.carrierId),
      Boolean(filter.flag),
      Boolean(filter.delinquencyCandidatesOn),
      Boolean(filter.terminatedOrCandidatesOn),
    ].join('|');
    const rows = await COMPILED.run<EnrollmentListRow>(
      this.db,
      key,
      () => {
        const today = slot('today') as IsoDate;
        const shape: EnrollmentFilter = {
          ...(filter.memberId ? { memberId: slot('memberId') } : {}),
          ...(filter.status ? { status: slot('status') as EnrollmentStatus } : {}),
          ...(filter.carrierId ? { carrierId: slot('carrierId') } : {}),
          ...(filter.flag ? { flag: slot('flag') as EnrollmentFlag } : {}),
          ...(filter.delinquencyCandidatesOn ? { delinquencyCandidatesOn: today } : {}),
          ...(filter.terminatedOrCandidatesOn ? { terminatedOrCandidatesOn: today } : {}),
        };
        return this.where(this.leanBase(scoped ? { carrierId: slot('carrier') } : scope), shape)
          .where('e.seq', '>', slot('after') as unknown as number)
          .orderBy('e.seq')
          .limit(slot('limit') as unknown as number);
      },
      {
        carrier: scope.carrierId,
        memberId: filter.memberId,
        status: filter.status,
        carrierId: filter.carrierId,
        flag: filter.flag,
        today: filter.delinquencyCandidatesOn ?? filter.terminatedOrCandidatesOn,
        after: decodeCursor(after) ?? 0,
        limit: limit + 1,
      },
    );
    return pageOf(rows, limit, (r) => r);
  }

  /** The lean columns of `EnrollmentListRow` (no history or invoice rows, no `Date`). */
  private leanBase(scope: Scope) {
    let q = this.db
      .selectFrom('enrollments as e')
      .innerJoin('accounts as a', 'a.member_id', 'e.member_id')
      .select([
        'e.seq',
        'e.id',
        'e.member_id as memberId',
        'e.carrier_id as carrierId',
        'e.coverage_type as coverageType',
        'e.plan_name as planName',
        'e.monthly_premium_cents as monthlyPremiumCents',
        'e.status',
        'e.coverage_start as coverageStart',
        'e.chosen_coverage_start as chosenCoverageStart',
        'a.first_name as firstName',
        'a.last_name as lastName',
        'e.confirmation_expected_by as confirmationExpectedBy',
        'e.id_card_expected_by as idCardExpectedBy',
        'e.carrier_policy_id as carrierPolicyId',
        'e.credit_cents as creditCents',
        'e.flags',
        'e.subsidy',
        'e.coverage_end as coverageEnd',
        'e.termination_reason as terminationReason',
        'e.delinquency_anchor as delinquencyAnchor',
        'e.delinquency_stage as delinquencyStage',
      ])
      .select([
        isoText('e.selected_at').as('selectedAt'),
        isoTextOrNull('e.paid_in_full_at').as('paidInFullAt'),
        isoTextOrNull('e.confirmed_at').as('confirmedAt'),
        isoTextOrNull('e.cancelled_at').as('cancelledAt'),
        isoText('e.created_at').as('createdAt'),
        isoTextOrNull('e.terminated_at').as('terminatedAt'),
      ])
      .select((eb) => binderInvoiceIdSql(eb).as('binderInvoiceId'))
      .select([
        sql<ListHistoryTuple[] | null>`(select json_agg(json_build_array(${isoText('h.at')}, h.type, h.from_value,
          h.to_value, h.reason, h.actor, k.role) order by h.id)
          from enrollment_history h left join api_keys k on k.id = h.actor where h.enrollment_id = e.id)`.as('history'),
        sql<EnrollmentListRow['invoices']>`(select json_agg(json_build_array(i.coverage_month, i.due_date,
          i.amount_due_cents, i.amount_paid_cents, i.voided_at is not null) order by i.coverage_month, i.seq)
          from invoices i where i.enrollment_id = e.id)`.as('invoices'),
      ]);
    if (scope.carrierId !== null) q = q.where('e.carrier_id', '=', scope.carrierId);
    return q;
  }

  private filtered(filter: EnrollmentFilter, scope: Scope) {
    return this.where(this.historyInline(scope), filter);
  }

  /** The filters of `list` on a query of `enrollments as e`. */
  private where<Q extends SelectQueryBuilder<DB & { e: EnrollmentsTable }, 'e', any>>(
    q: Q,
    filter: EnrollmentFilter,
  ): Q {
    let w = q as SelectQueryBuilder<DB & { e: EnrollmentsTable }, 'e', any>;
    if (filter.memberId) w = w.where('e.member_id', '=', filter.memberId);
    if (filter.status) w = w.where('e.status', '=', filter.status);
    if (filter.carrierId) w = w.where('e.carrier_id', '=', filter.carrierId);
    if (filter.flag) w = w.where(sql<boolean>`${filter.flag} = any(e.flags)`);
    if (filter.delinquencyCandidatesOn) w = w.where(delinquencyCandidateSql(filter.delinquencyCandidatesOn));
    const terminatedOn = filter.terminatedOrCandidatesOn;
    if (terminatedOn)
      w = w.where((eb) => eb.or([eb('e.status', '=', 'terminated'), delinquencyCandidateSql(terminatedOn)(eb)]));
    return w as Q;
  }

  async insert(values: {
    memberId: string;
    carrierId: string;
    coverageType: 'health' | 'dental';
    planName: string;
    monthlyPremiumCents: number;
    coverageStart: IsoDate;
    selectedAt: Date;
    now: Date;
    subsidy?: Subsidy | undefined;
  }): Promise<string> {
    const row = await this.db
      .insertInto('enrollments')
      .values({
        member_id: values.memberId,
        carrier_id: values.carrierId,
        coverage_type: values.coverageType,
        plan_name: values.planName,
        monthly_premium_cents: values.monthlyPremiumCents,
        status: 'pending_payment',
        chosen_coverage_start: values.coverageStart,
        coverage_start: values.coverageStart,
        selected_at: values.selectedAt,
        subsidy: values.subsidy ?? 'none',
        created_at: values.now,
        updated_at: values.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Writes a domain `EnrollmentChange` (the caller holds the enrollment's lock). */
  async update(id: string, change: EnrollmentChange, at: Date): Promise<void> {
    const { creditDeltaCents, addFlag } = change;
    await this.db
      .updateTable('enrollments')
      .set((eb) => ({
        ...columnsOf(change),
        updated_at: at,
        ...(creditDeltaCents ? { credit_cents: eb('credit_cents', '+', creditDeltaCents) } : {}),
        ...(addFlag
          ? {
              flags: eb.fn<string[]>('array_append', [
                eb.fn('array_remove', ['flags', eb.val(addFlag)]),
                eb.val(addFlag),
              ]),
            }
          : {}),
      }))
      .where('id', '=', id)
      .execute();
  }

  async addHistory(enrollmentId: string, entries: HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db
      .insertInto('enrollment_history')
      .values(entries.map((h) => historyRow(enrollmentId, h)))
      .execute();
  }

  /**
   * R29: the sweep's batched write of recorded episodes (stage moves and cures without a termination)
   * for enrollments the caller has locked: one statement for all of them.
   */
  async recordDelinquencies(rows: readonly { id: string; recorded: RecordedDelinquency | null }[], at: Date) {
    if (rows.length === 0) return;
    await sql`
      update enrollments e
      set delinquency_anchor = d.anchor, delinquency_stage = d.stage, updated_at = ${at}::timestamptz
      from unnest(${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.recorded?.anchor ?? null)}::date[],
                  ${rows.map((r) => r.recorded?.stage ?? null)}::text[]) as d(id, anchor, stage)
      where e.id = d.id`.execute(this.db);
  }

  /** History entries of several enrollments in one statement. */
  async addHistoryOf(entries: readonly { enrollmentId: string; entry: HistoryEntry }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db
      .insertInto('enrollment_history')
      .values(entries.map((h) => historyRow(h.enrollmentId, h.entry)))
      .execute();
  }

  /** R12: enrollments awaiting confirmation past their expected date, by carrier then date. */
  async overdue(
    today: IsoDate,
    carrierId: string | undefined,
    limit: number,
    after: string | undefined,
  ): Promise<Page<Enrollment>> {
    let q = this.historyInline({ carrierId: null })
      .where('e.status', '=', 'awaiting_confirmation')
      .where('e.confirmation_expected_by', '<', today);
    if (carrierId) q = q.where('e.carrier_id', '=', carrierId);
    const rows = await seqPageRows<InlineRow>(q, 'e.seq', after, limit);
    const page = pageOf(rows, limit, (r) => r);
    return { data: this.inline(page.data), nextCursor: page.nextCursor };
  }

  /** R21: the account's active enrollments that owe money (`owesMoney`, filtered in SQL). */
  async withBalance(memberId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('enrollments as e')
      .select('e.id')
      .where('e.member_id', '=', memberId)
      .where('e.status', '!=', 'cancelled')
      .where(owesMoneySql)
      .orderBy('e.seq')
      .execute();
    return rows.map((r) => r.id);
  }

  /** R22: the account's enrollments with a carrier of this (normalised) name, cancelled ones included (R24). */
  async byCarrierName(
    memberId: string,
    carrierNameKey: string,
  ): Promise<{ id: string; owes: boolean; cancelled: boolean }[]> {
    const rows = await this.db
      .selectFrom('enrollments as e')
      .innerJoin('carriers as c', 'c.id', 'e.carrier_id')
      .select(['e.id', 'e.status'])
      .select((eb) => owesMoneySql(eb).as('owes'))
      .where('e.member_id', '=', memberId)
      .where('c.name_key', '=', carrierNameKey)
      .orderBy('e.seq')
      .execute();
    return rows.map((r) => ({ id: r.id, owes: Boolean(r.owes), cancelled: r.status === 'cancelled' }));
  }

  /**
   * Pending enrollments after `afterSeq` whose recorded start is before `earliestOpenStart`, locked,
   * skipping busy rows; `lastSeq` is where the next batch starts.
   */
  async lockPendingStartingBefore(
    earliestOpenStart: IsoDate,
    limit: number,
    afterSeq = 0,
  ): Promise<{ enrollments: Enrollment[]; lastSeq: number }> {
    const rows = (await this.base({ carrierId: null })
      .where('e.status', '=', 'pending_payment')
      .where('e.coverage_start', '<', earliestOpenStart)
      .where('e.seq', '>', afterSeq)
      .orderBy('e.seq')
      .limit(limit)
      .forNoKeyUpdate('e')
      .skipLocked()
      .execute()) as EnrollmentJoinedRow[];
    return { enrollments: await this.withHistory(rows), lastSeq: Number(rows.at(-1)?.seq ?? afterSeq) };
  }

  /**
   * R29/R30: the sweep's batch of enrollments that may be delinquent on `today`
   * (`delinquencyCandidateSql`) after `afterSeq`, locked in sequence order, skipping rows another
   * transaction holds (a concurrent sweep or a payment records the same standing itself).
   */
  async lockDelinquencyCandidates(
    today: IsoDate,
    limit: number,
    afterSeq: number,
  ): Promise<{ enrollments: Enrollment[]; lastSeq: number }> {
    const rows = (await this.base({ carrierId: null })
      .where(delinquencyCandidateSql(today))
      .where('e.seq', '>', afterSeq)
      .orderBy('e.seq')
      .limit(limit)
      .forNoKeyUpdate('e')
      .skipLocked()
      .execute()) as EnrollmentJoinedRow[];
    return { enrollments: rows.map((r) => toEnrollment(r, [])), lastSeq: Number(rows.at(-1)?.seq ?? afterSeq) };
  }
}
