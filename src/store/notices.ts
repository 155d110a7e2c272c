import { type Kysely, type Selectable, sql } from 'kysely';
import type { IsoDate } from '../domain/dates.js';
import type { NonPaymentNotice } from '../domain/delinquency.js';
import { type Page, pageOf, seqPageRows } from './pagination.js';
import type { DB, NoticesTable } from './schema.js';

export type NoticeType = NoticesTable['type'];

export interface Notice {
  id: string;
  type: NoticeType;
  memberId: string;
  enrollmentId: string;
  status: 'queued' | 'sent';
  createdAt: Date;
  /** R29/R30: the non-payment notices' contents (null on a welcome letter). */
  payBy: IsoDate | null;
  amountOwedCents: number | null;
  monthsOwed: IsoDate[] | null;
  coverageEnd: IsoDate | null;
}

function isoOf(d: unknown): IsoDate {
  return (d instanceof Date ? d.toISOString().slice(0, 10) : String(d)) as IsoDate;
}

export class NoticeStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** At most one welcome letter per enrollment (a repeated confirmation queues nothing new). */
  async queue(type: 'welcome_letter', memberId: string, enrollmentId: string, at: Date): Promise<void> {
    await this.db
      .insertInto('notices')
      .values({ type, member_id: memberId, enrollment_id: enrollmentId, created_at: at })
      .onConflict((oc) => oc.columns(['enrollment_id', 'type']).where('type', '=', 'welcome_letter').doNothing())
      .execute();
  }

  /** R29/R30: non-payment notices (the sweep writes each stage once; its lock and record make sure). */
  async queueNonPayment(
    notices: readonly { notice: NonPaymentNotice; memberId: string; enrollmentId: string }[],
    at: Date,
  ): Promise<void> {
    if (notices.length === 0) return;
    await this.db
      .insertInto('notices')
      .values(
        notices.map(({ notice: n, memberId, enrollmentId }) => ({
          type: n.type,
          member_id: memberId,
          enrollment_id: enrollmentId,
          created_at: at,
          pay_by: n.payBy,
          amount_owed_cents: n.amountOwedCents,
          months_owed: n.monthsOwed,
          coverage_end: n.coverageEnd,
        })),
      )
      .execute();
  }

  /** R30: the last pay-by date of the enrollment's latest termination (its termination notice), or null. */
  async lastTerminationPayBy(enrollmentId: string): Promise<IsoDate | null> {
    const row = await this.db
      .selectFrom('notices')
      .select('pay_by')
      .where('enrollment_id', '=', enrollmentId)
      .where('type', '=', 'termination')
      .orderBy('created_at', 'desc')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.pay_by == null ? null : isoOf(row.pay_by);
  }

  async list(
    filter: { type?: NoticeType | undefined; memberId?: string | undefined; enrollmentId?: string | undefined },
    limit: number,
    after: string | undefined,
  ): Promise<Page<Notice>> {
    // date[] as text[]: every element stays a YYYY-MM-DD string (dates are never Date objects here).
    let q = this.db
      .selectFrom('notices')
      .selectAll()
      .select(sql<string[] | null>`months_owed::text[]`.as('months_owed_text'));
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.memberId) q = q.where('member_id', '=', filter.memberId);
    if (filter.enrollmentId) q = q.where('enrollment_id', '=', filter.enrollmentId);
    const rows = await seqPageRows<Selectable<NoticesTable> & { months_owed_text: string[] | null }>(
      q,
      'seq',
      after,
      limit,
    );
    return pageOf(rows, limit, (r) => ({
      id: r.id,
      type: r.type,
      memberId: r.member_id,
      enrollmentId: r.enrollment_id,
      status: r.status,
      createdAt: r.created_at,
      payBy: r.pay_by === null ? null : isoOf(r.pay_by),
      amountOwedCents: r.amount_owed_cents === null ? null : Number(r.amount_owed_cents),
      monthsOwed: r.months_owed_text === null ? null : r.months_owed_text.map(isoOf),
      coverageEnd: r.coverage_end === null ? null : isoOf(r.coverage_end),
    }));
  }
}
