import type { BusinessCalendar } from '../domain/calendar.js';
import type { Clock } from '../domain/clock.js';
import { businessDateOf } from '../domain/dates.js';
import { businessDaysOverdue, confirm, type EnrollmentProjection, projectEnrollment } from '../domain/enrollment.js';
import { DomainError, notFound } from '../domain/errors.js';
import { FEED_START, type FeedEvent } from '../domain/events.js';
import { type Principal, type Scope, scopeOf, UNSCOPED } from '../domain/principal.js';
import { businessTimestamp } from '../domain/timestamps.js';
import { decodePosition, encodePosition } from '../store/feed.js';
import type { Notice, NoticeType } from '../store/notices.js';
import type { Page } from '../store/pagination.js';
import type { Stores } from '../store/stores.js';
import type { BillingService } from './billing.js';
import { type Answered, type Idempotent, IdempotentTransactions } from './idempotency.js';

/** Carrier work: confirmations (R12), welcome letters, the overdue report and the events feed (R26, R27). */
export class CarrierService {
  private readonly idempotent: IdempotentTransactions;

  constructor(
    private readonly stores: Stores,
    private readonly clock: Clock,
    private readonly calendar: BusinessCalendar,
    private readonly billing: BillingService,
    /** Where reports that may be a little stale are read: a streaming replica, or the primary (docs/decisions.md, "Several instances"). */
    private readonly reports: Stores = stores,
  ) {
    this.idempotent = new IdempotentTransactions(stores, clock);
  }

  confirm(
    id: string,
    input: { confirmedAt?: Date | undefined; carrierPolicyId?: string | undefined },
    principal: Principal,
    call: Idempotent<EnrollmentProjection>,
  ): Promise<Answered> {
    return this.idempotent.run(call, async (tx) => {
      await this.confirmIn(tx, id, input, principal);
      return this.billing.enrollmentIn(tx, id, UNSCOPED);
    });
  }

  private async confirmIn(
    tx: Stores,
    id: string,
    input: { confirmedAt?: Date | undefined; carrierPolicyId?: string | undefined },
    principal: Principal,
  ): Promise<void> {
    const now = this.clock.now();
    const enrollments = tx.enrollments;
    const locked = await enrollments.get(id, scopeOf(principal), { forUpdate: true });
    if (!locked) throw notFound('enrollment', id);
    const e = await this.billing.standingFirst(tx, locked, now, principal);
    if (e.status === 'confirmed') return; // already confirmed: harmless repeat
    const confirmedAt = businessTimestamp('confirmedAt', input.confirmedAt, {
      now,
      calendar: this.calendar,
      notBefore: e.paidInFullAt,
    });
    const change = confirm(e, confirmedAt, principal.keyId);
    if (!change) return;
    await enrollments.update(
      id,
      { status: change.status, confirmedAt: change.confirmedAt, carrierPolicyId: input.carrierPolicyId ?? null },
      now,
    );
    await enrollments.addHistory(id, [{ ...change.history, at: now }]);
    await tx.notices.queue('welcome_letter', e.memberId, id, now);
    await tx.appendEvents([
      {
        type: 'enrollment.confirmed',
        occurredAt: now,
        carrierId: e.carrierId,
        memberId: e.memberId,
        enrollmentId: id,
        data: { confirmedAt: change.confirmedAt.toISOString(), carrierPolicyId: input.carrierPolicyId ?? null },
      },
    ]);
  }

  notices(
    filter: { type?: NoticeType | undefined; memberId?: string | undefined; enrollmentId?: string | undefined },
    limit: number,
    after?: string,
  ): Promise<Page<Notice>> {
    return this.stores.notices.list(filter, limit, after);
  }

  async overdue(
    carrierId: string | undefined,
    limit: number,
    after?: string,
  ): Promise<Page<EnrollmentProjection & { businessDaysOverdue: number }>> {
    const now = this.clock.now();
    const page = await this.reports.enrollments.overdue(businessDateOf(now), carrierId, limit, after);
    const invoices = await this.reports.invoices.forEnrollments(page.data.map((e) => e.id));
    return {
      data: page.data
        .map((e) => ({
          ...projectEnrollment(e, now, invoices.get(e.id) ?? []),
          businessDaysOverdue: businessDaysOverdue(e, now, this.calendar),
        }))
        // R30: one that reads terminated (the sweep not run yet) is no longer awaiting confirmation.
        .filter((p) => p.confirmationOverdue),
      nextCursor: page.nextCursor,
    };
  }

  /**
   * R27: a page of the feed and the opaque cursor the next poll starts from. A cursor this feed did
   * not hand out is 400 `invalid_cursor`.
   */
  async feed(
    after: string | undefined,
    scope: Scope,
    limit: number,
  ): Promise<{ events: FeedEvent[]; nextCursor: string }> {
    const position = after === undefined || after === '' ? FEED_START : decodePosition(after);
    if (!position) throw new DomainError('invalid_cursor', 'The cursor is not one this feed handed out.');
    const page = await this.stores.readFeed(position, scope, limit);
    return { events: page.events, nextCursor: encodePosition(page.next) };
  }
}
