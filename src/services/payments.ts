import type { Kysely } from 'kysely';
import { normalizePhoneNumber } from '../domain/accounts.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import { assertMethodAccepted } from '../domain/channels.js';
import type { Clock } from '../domain/clock.js';
import { businessDateOf } from '../domain/dates.js';
import { effectiveCoverageStart, paymentDueDate } from '../domain/deadlines.js';
import { callerTimestamp, type Enrollment, markPaidInFull, returnToPending } from '../domain/enrollment.js';
import { DomainError, notFound } from '../domain/errors.js';
import { invoiceStatus } from '../domain/invoice.js';
import { nameKey } from '../domain/names.js';
import {
  allocate,
  assertReturnReason,
  checkMethodDetails,
  type Payment,
  type PaymentRequest,
  type PaymentStatus,
  type PaymentTarget,
  paymentTarget,
} from '../domain/payment.js';
import { type Principal, UNSCOPED } from '../domain/principal.js';
import { AccountStore } from '../store/accounts.js';
import type { FieldCipher } from '../store/crypto.js';
import { EnrollmentStore } from '../store/enrollments.js';
import { appendEvents, type NewEvent } from '../store/events.js';
import { InvoiceStore } from '../store/invoices.js';
import type { Page } from '../store/pagination.js';
import { PaymentStore } from '../store/payments.js';
import type { DB } from '../store/schema.js';
import type { BillingService } from './billing.js';

type Resolved = { enrollmentId: string; invoiceId?: string } | { unapplied: true; memberId: string | null };

/**
 * Payments (R19-R25). Every money-moving method runs inside the caller's transaction (the
 * idempotency wrapper owns it), locks the enrollment it changes, and writes its events there too.
 */
export class PaymentService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly clock: Clock,
    private readonly calendar: BusinessCalendar,
    private readonly cipher: FieldCipher,
    private readonly billing: BillingService,
  ) {}

  /** POST /v1/payments */
  async post(trx: Kysely<DB>, req: PaymentRequest, principal: Principal): Promise<Payment> {
    const now = this.clock.now();
    assertMethodAccepted(req.channel, req.method);
    checkMethodDetails(req, now);
    const receivedAt = callerTimestamp(req.receivedAt, now, 'receivedAt');
    const target = paymentTarget(req);

    const resolved = await this.resolve(trx, req, target);
    const payments = new PaymentStore(trx, this.cipher);
    const unapplied = 'unapplied' in resolved;
    const enrollmentId = unapplied ? null : resolved.enrollmentId;
    // Lock the enrollment before anything references it: one lock order for every money path.
    const enrollment = enrollmentId
      ? await new EnrollmentStore(trx).get(enrollmentId, UNSCOPED, { forUpdate: true, history: false })
      : null;
    const paymentId = await payments.insert(req, {
      status: unapplied ? 'unapplied' : 'received',
      receivedAt,
      memberId: unapplied ? resolved.memberId : (enrollment?.memberId ?? null),
      enrollmentId,
      unappliedCents: unapplied ? req.amountCents : 0,
      target: { ...target },
      now,
      actor: principal.keyId,
    });
    const events: NewEvent[] = [];
    if (unapplied) {
      events.push({
        type: 'payment.unapplied',
        occurredAt: now,
        memberId: resolved.memberId,
        paymentId,
        data: { amountCents: req.amountCents, channel: req.channel },
      });
    } else {
      await this.apply(trx, paymentId, req.amountCents, resolved, receivedAt, principal, events, enrollment);
    }
    await appendEvents(trx, events);
    const payment = await payments.get(paymentId);
    if (!payment) throw new Error('payment vanished inside its own transaction');
    return payment;
  }

  /** R21-R23: find what a payment pays. Mail that cannot be matched is kept as unapplied. */
  private async resolve(trx: Kysely<DB>, req: PaymentRequest, target: PaymentTarget): Promise<Resolved> {
    const mail = req.channel === 'mail';
    const notFoundOr = (memberId: string | null, detail: string): Resolved => {
      if (mail) return { unapplied: true, memberId };
      throw new DomainError('target_not_found', detail);
    };
    const enrollments = new EnrollmentStore(trx);
    switch (target.kind) {
      case 'invoice': {
        const invoice = await new InvoiceStore(trx).byNumber(target.invoiceNumber);
        if (!invoice || invoice.voidedAt)
          return notFoundOr(invoice?.memberId ?? null, `No payable invoice ${target.invoiceNumber}.`);
        return { enrollmentId: invoice.enrollmentId, invoiceId: invoice.id };
      }
      case 'enrollment': {
        const e = await enrollments.get(target.enrollmentId, UNSCOPED, { forUpdate: true, history: false });
        if (!e || e.status === 'cancelled') return notFoundOr(null, `No active enrollment ${target.enrollmentId}.`);
        return { enrollmentId: e.id };
      }
      case 'phone':
      case 'member': {
        let memberId: string;
        if (target.kind === 'phone') {
          const accounts = await new AccountStore(trx).byPhoneNumber(normalizePhoneNumber(target.phoneNumber));
          if (accounts.length === 0) throw new DomainError('target_not_found', 'No account has this phone number.');
          if (accounts.length > 1) {
            throw new DomainError('target_ambiguous', 'Several accounts have this phone number; give the Member ID.');
          }
          memberId = (accounts[0] as { memberId: string }).memberId;
        } else {
          if (!(await new AccountStore(trx).get(target.memberId))) {
            throw new DomainError('target_not_found', `No account for member ${target.memberId}.`);
          }
          memberId = target.memberId;
        }
        const owing = await enrollments.withBalance(memberId);
        if (owing.length === 0)
          throw new DomainError('target_not_found', 'The account has no enrollment with a balance.');
        if (owing.length > 1) {
          throw new DomainError(
            'target_ambiguous',
            'The account has several enrollments with a balance; name the invoice number or enrollment.',
            { enrollmentIds: owing },
          );
        }
        return { enrollmentId: owing[0] as string };
      }
      case 'remittance': {
        const account = await new AccountStore(trx).get(target.memberId);
        const namesMatch =
          account &&
          nameKey(account.firstName) === nameKey(target.firstName) &&
          nameKey(account.lastName) === nameKey(target.lastName);
        if (!account || !namesMatch) return { unapplied: true, memberId: account ? account.memberId : null };
        const candidates = await enrollments.byCarrierName(account.memberId, nameKey(target.carrierName));
        const owing = candidates.filter((c) => c.owes);
        const pick =
          owing.length === 1 ? owing[0] : owing.length === 0 && candidates.length === 1 ? candidates[0] : undefined;
        if (!pick) return { unapplied: true, memberId: account.memberId };
        return { enrollmentId: pick.id };
      }
    }
  }

  /**
   * R24 + R9/R11/R10: apply money within one enrollment (never across), overpayment to credit, and
   * complete the binder when it is paid in full.
   */
  private async apply(
    trx: Kysely<DB>,
    paymentId: string,
    amountCents: number,
    target: { enrollmentId: string; invoiceId?: string },
    receivedAt: Date,
    principal: Principal,
    events: NewEvent[],
    locked?: Enrollment | null,
  ): Promise<{ creditedCents: number }> {
    const now = this.clock.now();
    const enrollments = new EnrollmentStore(trx);
    const invoices = new InvoiceStore(trx);
    let e =
      locked?.id === target.enrollmentId
        ? locked
        : await enrollments.get(target.enrollmentId, UNSCOPED, { forUpdate: true, history: false });
    if (!e) throw notFound('enrollment', target.enrollmentId);
    e = await this.billing.recordMissedDeadlines(trx, e, now);

    const open = await invoices.openForEnrollment(e.id, target.invoiceId);
    const allocation = allocate(
      amountCents,
      open.map((i) => ({
        id: i.id,
        coverageMonth: i.coverageMonth,
        balanceCents: i.amountDueCents - i.amountPaidCents,
      })),
    );
    await invoices.addPaid(allocation.applications);
    const payments = new PaymentStore(trx);
    await payments.recordApplications(paymentId, allocation.applications, now);
    await payments.markApplied(paymentId, {
      memberId: e.memberId,
      enrollmentId: e.id,
      creditedCents: allocation.creditedCents,
    });
    if (allocation.creditedCents > 0)
      await enrollments.update(e.id, { credit_delta_cents: allocation.creditedCents }, now);
    events.push({
      type: 'payment.received',
      occurredAt: now,
      carrierId: e.carrierId,
      memberId: e.memberId,
      enrollmentId: e.id,
      paymentId,
      data: {
        amountCents,
        invoiceIds: allocation.applications.map((a) => a.invoiceId),
        creditedCents: allocation.creditedCents,
      },
    });
    await this.completeBinderIfPaid(trx, e, receivedAt, now, principal, events);
    return { creditedCents: allocation.creditedCents };
  }

  private async completeBinderIfPaid(
    trx: Kysely<DB>,
    e: Enrollment,
    receivedAt: Date,
    now: Date,
    principal: Principal,
    events: NewEvent[],
  ): Promise<void> {
    if (e.status !== 'pending_payment') return;
    const invoices = new InvoiceStore(trx);
    const binder = (await invoices.forEnrollment(e.id)).find((i) => i.isBinder);
    if (!binder || invoiceStatus(binder) !== 'paid') return;
    const enrollments = new EnrollmentStore(trx);
    const common = { occurredAt: now, carrierId: e.carrierId, memberId: e.memberId, enrollmentId: e.id };

    // R10: coverage starts on the first month whose due date is on or after the payment's business date.
    const start = effectiveCoverageStart(e.chosenCoverageStart, businessDateOf(receivedAt));
    if (start !== e.coverageStart) {
      await enrollments.update(e.id, { coverage_start: start }, now);
      await invoices.moveBinder(e.id, start, paymentDueDate(start));
      await enrollments.addHistory(e.id, [
        {
          at: now,
          type: 'coverage_start_moved',
          from: e.coverageStart,
          to: start,
          reason: `binder paid in full on ${businessDateOf(receivedAt)}`,
          actor: principal.keyId,
        },
      ]);
      events.push({ ...common, type: 'enrollment.coverage_start_moved', data: { from: e.coverageStart, to: start } });
    }
    const change = markPaidInFull(e, receivedAt, principal.keyId, this.calendar);
    await enrollments.update(
      e.id,
      {
        status: change.status,
        paid_in_full_at: change.paidInFullAt,
        confirmation_expected_by: change.confirmationExpectedBy,
        id_card_expected_by: change.idCardExpectedBy,
      },
      now,
    );
    await enrollments.addHistory(e.id, [{ ...change.history, at: now }]);
    events.push({
      ...common,
      type: 'enrollment.awaiting_confirmation',
      invoiceId: binder.id,
      data: {
        coverageStart: start,
        paidInFullAt: receivedAt.toISOString(),
        confirmationExpectedBy: change.confirmationExpectedBy,
      },
    });
  }

  /** R23: ops applies a mail payment that could not be matched. */
  async applyUnapplied(
    trx: Kysely<DB>,
    paymentId: string,
    target: { invoiceNumber?: string | undefined; enrollmentId?: string | undefined },
    principal: Principal,
  ): Promise<Payment> {
    const payments = new PaymentStore(trx);
    const payment = await payments.get(paymentId, { forUpdate: true });
    if (!payment) throw notFound('payment', paymentId);
    if (payment.status !== 'unapplied') {
      throw new DomainError('not_unapplied', `Payment ${paymentId} is ${payment.status}.`, {
        currentState: payment.status,
        expectedStates: ['unapplied'],
      });
    }
    if (Boolean(target.invoiceNumber) === Boolean(target.enrollmentId)) {
      throw new DomainError('target_required', 'Name exactly one of invoiceNumber or enrollmentId.');
    }
    const resolved = await this.resolve(
      trx,
      { channel: 'online', method: payment.method, amountCents: payment.amountCents },
      target.invoiceNumber
        ? { kind: 'invoice', invoiceNumber: target.invoiceNumber }
        : { kind: 'enrollment', enrollmentId: target.enrollmentId as string },
    );
    if ('unapplied' in resolved) throw new DomainError('target_not_found', 'No payable target.');
    const events: NewEvent[] = [];
    await this.apply(trx, paymentId, payment.amountCents, resolved, payment.receivedAt, principal, events);
    await appendEvents(trx, events);
    return (await payments.get(paymentId)) as Payment;
  }

  /** R25: a returned payment reverses its applications and credit. */
  async returnPayment(
    trx: Kysely<DB>,
    paymentId: string,
    reasonCode: string,
    returnedAtInput: Date | undefined,
    principal: Principal,
  ): Promise<Payment> {
    const now = this.clock.now();
    const payments = new PaymentStore(trx);
    const payment = await payments.get(paymentId, { forUpdate: true });
    if (!payment) throw notFound('payment', paymentId);
    if (payment.status === 'returned') {
      throw new DomainError(
        'already_returned',
        `Payment ${paymentId} was returned on ${payment.returnedAt?.toISOString()}.`,
        {
          currentState: 'returned',
        },
      );
    }
    assertReturnReason(payment.method, reasonCode);
    const returnedAt = callerTimestamp(returnedAtInput, now, 'returnedAt');

    const invoices = new InvoiceStore(trx);
    const enrollments = new EnrollmentStore(trx);
    const active = payment.applications.filter((a) => a.reversedAt === null);
    // Lock every enrollment touched, in id order, before changing its invoices.
    const invoiceRows = await invoices.enrollmentsOf(active.map((a) => a.invoiceId));
    const touched = [...new Set([...invoiceRows, ...(payment.enrollmentId ? [payment.enrollmentId] : [])])].sort();
    const locked = new Map<string, Enrollment>();
    for (const id of touched) {
      const e = await enrollments.get(id, UNSCOPED, { forUpdate: true, history: false });
      if (e) locked.set(id, e);
    }

    await invoices.addPaid(active.map((a) => ({ invoiceId: a.invoiceId, amountCents: -a.amountCents })));
    // Money that became credit (overpayment, or paid on invoices voided by a cancellation) goes back too.
    const creditBack = new Map<string, number>();
    if (payment.creditedCents > 0 && payment.enrollmentId) creditBack.set(payment.enrollmentId, payment.creditedCents);
    for (const inv of await invoices.byIds(active.map((a) => a.invoiceId))) {
      if (!inv.voidedAt) continue;
      const amount = active.filter((a) => a.invoiceId === inv.id).reduce((sum, a) => sum + a.amountCents, 0);
      creditBack.set(inv.enrollmentId, (creditBack.get(inv.enrollmentId) ?? 0) + amount);
    }
    for (const [enrollmentId, cents] of creditBack) {
      const fromCredit = Math.min(locked.get(enrollmentId)?.creditCents ?? 0, cents);
      if (fromCredit > 0) await enrollments.update(enrollmentId, { credit_delta_cents: -fromCredit }, now);
      if (cents > fromCredit) await invoices.takeBackCredit(enrollmentId, cents - fromCredit);
    }
    await payments.markReturned(paymentId, returnedAt, reasonCode);

    const events: NewEvent[] = [];
    for (const e of locked.values()) {
      const common = { occurredAt: now, carrierId: e.carrierId, memberId: e.memberId, enrollmentId: e.id, paymentId };
      const binder = (await invoices.forEnrollment(e.id)).find((i) => i.isBinder);
      const binderPaid = binder ? invoiceStatus(binder) === 'paid' : true;
      events.push({ ...common, type: 'payment.returned', data: { reasonCode, amountCents: payment.amountCents } });
      if (e.status === 'awaiting_confirmation' && !binderPaid) {
        const change = returnToPending(e, now, principal.keyId, `payment ${paymentId} returned (${reasonCode})`);
        await enrollments.update(
          e.id,
          { status: change.status, paid_in_full_at: null, confirmation_expected_by: null, id_card_expected_by: null },
          now,
        );
        await enrollments.addHistory(e.id, [change.history]);
        events.push({
          ...common,
          type: 'enrollment.pending_payment',
          data: { reason: 'payment_returned', reasonCode },
        });
      } else if (e.status === 'confirmed') {
        await enrollments.update(e.id, { add_flag: 'payment_returned' }, now);
        events.push({ ...common, type: 'enrollment.flagged', data: { flag: 'payment_returned', reasonCode } });
      }
    }
    if (locked.size === 0) {
      events.push({
        type: 'payment.returned',
        occurredAt: now,
        memberId: payment.memberId,
        paymentId,
        data: { reasonCode, amountCents: payment.amountCents },
      });
    }
    await appendEvents(trx, events);
    return (await payments.get(paymentId)) as Payment;
  }

  async get(id: string): Promise<Payment> {
    const p = await new PaymentStore(this.db).get(id);
    if (!p) throw notFound('payment', id);
    return p;
  }

  list(
    filter: { memberId?: string | undefined; status?: PaymentStatus | undefined },
    limit: number,
    after?: string,
  ): Promise<Page<Payment>> {
    return new PaymentStore(this.db).list(filter, limit, after);
  }

  /** Flagged enrollments for ops (R25). */
  async flagged(limit: number, after?: string) {
    return this.billing.listEnrollments({ flag: 'payment_returned' }, UNSCOPED, limit, after);
  }
}
