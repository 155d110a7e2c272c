import type { Kysely, Selectable } from 'kysely';
import { type Page, pageOf, seqPageRows } from './pagination.js';
import type { DB, NoticesTable } from './schema.js';

export interface Notice {
  id: string;
  type: 'welcome_letter';
  memberId: string;
  enrollmentId: string;
  status: 'queued' | 'sent';
  createdAt: Date;
}

export class NoticeStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** At most one notice of a type per enrollment (a repeated confirmation queues nothing new). */
  async queue(type: 'welcome_letter', memberId: string, enrollmentId: string, at: Date): Promise<void> {
    await this.db
      .insertInto('notices')
      .values({ type, member_id: memberId, enrollment_id: enrollmentId, created_at: at })
      .onConflict((oc) => oc.columns(['enrollment_id', 'type']).doNothing())
      .execute();
  }

  async list(
    filter: { type?: 'welcome_letter' | undefined; memberId?: string | undefined; enrollmentId?: string | undefined },
    limit: number,
    after: string | undefined,
  ): Promise<Page<Notice>> {
    let q = this.db.selectFrom('notices').selectAll();
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.memberId) q = q.where('member_id', '=', filter.memberId);
    if (filter.enrollmentId) q = q.where('enrollment_id', '=', filter.enrollmentId);
    const rows = await seqPageRows<Selectable<NoticesTable>>(q, 'seq', after, limit);
    return pageOf(rows, limit, (r) => ({
      id: r.id,
      type: r.type,
      memberId: r.member_id,
      enrollmentId: r.enrollment_id,
      status: r.status,
      createdAt: r.created_at,
    }));
  }
}
