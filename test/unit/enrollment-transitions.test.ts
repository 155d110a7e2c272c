import t, { type Test } from 'tap';
import { massachusettsCalendar } from '../../src/domain/calendar.js';
import {
  actorSeenBy,
  businessDaysOverdue,
  cancel,
  confirm,
  created,
  ENROLLMENT_STATUSES,
  type Enrollment,
  type EnrollmentStatus,
  type HistoryEntry,
  isBillable,
  isCancellable,
  isConfirmationOverdue,
  markPaidInFull,
  returnToPending,
} from '../../src/domain/enrollment.js';
import { DomainError } from '../../src/domain/errors.js';
import { enrollment, paidEnrollment } from '../helpers/domain.js';

// Enrollment transitions (R11-R14, R16, R25) from SPEC.md, one row per (transition, status).
const AT = new Date('2026-12-14T15:00:00Z');
const ACTOR = 'key_carrier';

const inStatus = (status: EnrollmentStatus): Enrollment =>
  status === 'pending_payment' ? enrollment() : paidEnrollment({ status });

type Outcome = { to: EnrollmentStatus } | 'unchanged' | { refused: string };

interface TransitionRow {
  rule: string;
  name: string;
  from: EnrollmentStatus;
  outcome: Outcome;
}

function check(
  t: Test,
  rows: TransitionRow[],
  apply: (e: Enrollment) => { status: EnrollmentStatus; history: Omit<HistoryEntry, 'actorRole'> } | null,
  extra: (r: TransitionRow, result: Record<string, unknown>) => void = () => {},
) {
  for (const r of rows) {
    const msg = `${r.rule}: ${r.name}`;
    const e = inStatus(r.from);
    if (r.outcome === 'unchanged') {
      t.equal(apply(e), null, `${msg}: harmless, nothing changes`);
      continue;
    }
    if ('refused' in r.outcome) {
      let err: unknown = null;
      try {
        apply(e);
      } catch (x) {
        err = x;
      }
      t.ok(err instanceof DomainError, `${msg}: refused`);
      t.equal((err as DomainError).code, r.outcome.refused, `${msg}: ${r.outcome.refused}`);
      t.equal((err as DomainError).kind, 'conflict', `${msg}: a state conflict (409)`);
      t.equal((err as DomainError).extra.currentState, r.from, `${msg}: names the current state`);
      continue;
    }
    const result = apply(e);
    t.equal(result?.status, r.outcome.to, msg);
    t.match(
      result?.history,
      { type: 'status_changed', from: r.from, to: r.outcome.to, actor: ACTOR },
      `${msg}: R14 history entry`,
    );
    extra(r, result as unknown as Record<string, unknown>);
  }
}

t.test('R12: the carrier confirms an enrollment awaiting confirmation', async (t) => {
  const rows: TransitionRow[] = [
    {
      rule: 'R12',
      name: 'awaiting_confirmation -> confirmed',
      from: 'awaiting_confirmation',
      outcome: { to: 'confirmed' },
    },
    { rule: 'R26', name: 'repeating a confirmation is harmless', from: 'confirmed', outcome: 'unchanged' },
    {
      rule: 'R12',
      name: 'an unpaid enrollment cannot be confirmed',
      from: 'pending_payment',
      outcome: { refused: 'not_awaiting_confirmation' },
    },
    {
      rule: 'R12',
      name: 'a cancelled enrollment cannot be confirmed',
      from: 'cancelled',
      outcome: { refused: 'not_awaiting_confirmation' },
    },
  ];
  check(
    t,
    rows,
    (e) => confirm(e, AT, ACTOR),
    (r, result) => t.same(result.confirmedAt, AT, `${r.rule}: ${r.name}: confirmedAt`),
  );
});

t.test('R13: cancellation before confirmation only', async (t) => {
  const rows: TransitionRow[] = [
    { rule: 'R13', name: 'pending_payment -> cancelled', from: 'pending_payment', outcome: { to: 'cancelled' } },
    {
      rule: 'R13',
      name: 'awaiting_confirmation -> cancelled',
      from: 'awaiting_confirmation',
      outcome: { to: 'cancelled' },
    },
    {
      rule: 'R13',
      name: 'after confirmation: not_cancellable',
      from: 'confirmed',
      outcome: { refused: 'not_cancellable' },
    },
    { rule: 'R13', name: 'a repeated cancellation changes nothing', from: 'cancelled', outcome: 'unchanged' },
  ];
  check(
    t,
    rows,
    (e) => cancel(e, AT, ACTOR, 'member asked'),
    (r, result) => {
      t.same(result.cancelledAt, AT, `${r.rule}: ${r.name}: cancelledAt`);
      t.match(result.history, { reason: 'member asked' }, `${r.rule}: ${r.name}: R14 the reason is kept`);
    },
  );
  t.match(
    cancel(enrollment(), AT, ACTOR, undefined)?.history,
    { reason: /\S/ },
    'R14: no reason given: one is written',
  );
  for (const status of ENROLLMENT_STATUSES) {
    t.equal(
      isCancellable(status),
      status === 'pending_payment' || status === 'awaiting_confirmation',
      `R13: ${status}`,
    );
  }
});

t.test('R11: the binder paid in full moves pending_payment to awaiting_confirmation', async (t) => {
  const rows: TransitionRow[] = [
    {
      rule: 'R11',
      name: 'pending_payment -> awaiting_confirmation',
      from: 'pending_payment',
      outcome: { to: 'awaiting_confirmation' },
    },
    {
      rule: 'R11',
      name: 'already awaiting confirmation',
      from: 'awaiting_confirmation',
      outcome: { refused: 'invalid_transition' },
    },
    { rule: 'R11', name: 'a confirmed enrollment', from: 'confirmed', outcome: { refused: 'invalid_transition' } },
    { rule: 'R11', name: 'a cancelled enrollment', from: 'cancelled', outcome: { refused: 'invalid_transition' } },
  ];
  // Monday 2026-12-14: 5 business days later is Monday 2026-12-21; 14 calendar days is 2026-12-28.
  check(
    t,
    rows,
    (e) => markPaidInFull(e, AT, ACTOR, massachusettsCalendar),
    (r, result) => {
      t.same(result.paidInFullAt, AT, `${r.rule}: ${r.name}: paidInFullAt`);
      t.equal(result.confirmationExpectedBy, '2026-12-21', `${r.rule}: ${r.name}: confirmationExpectedBy`);
      t.equal(result.idCardExpectedBy, '2026-12-28', `${r.rule}: ${r.name}: idCardExpectedBy`);
    },
  );
});

t.test('R25: a returned payment reopens a binder only before confirmation', async (t) => {
  const rows: TransitionRow[] = [
    {
      rule: 'R25',
      name: 'awaiting_confirmation -> pending_payment',
      from: 'awaiting_confirmation',
      outcome: { to: 'pending_payment' },
    },
    {
      rule: 'R25',
      name: 'a confirmed enrollment is flagged, not reopened',
      from: 'confirmed',
      outcome: { refused: 'invalid_transition' },
    },
    { rule: 'R25', name: 'already pending', from: 'pending_payment', outcome: { refused: 'invalid_transition' } },
  ];
  check(t, rows, (e) => returnToPending(e, AT, ACTOR, 'payment pay_1 returned (R01)'));
});

t.test('R14/R7: a checkout starts the history at pending_payment', async (t) => {
  t.match(created(AT, ACTOR), { type: 'status_changed', from: null, to: 'pending_payment', actor: ACTOR, at: AT });
});

t.test('R16: a billing run issues invoices for awaiting_confirmation and confirmed enrollments only', async (t) => {
  const rows: { rule: string; status: EnrollmentStatus; billable: boolean }[] = [
    { rule: 'R16', status: 'pending_payment', billable: false },
    { rule: 'R16', status: 'awaiting_confirmation', billable: true },
    { rule: 'R16', status: 'confirmed', billable: true },
    { rule: 'R16', status: 'cancelled', billable: false },
  ];
  for (const r of rows) t.equal(isBillable(r.status), r.billable, `${r.rule}: ${r.status}`);
});

t.test('R12: an enrollment still awaiting confirmation after confirmationExpectedBy is overdue', async (t) => {
  // confirmationExpectedBy Friday 2026-12-18 (R11 for a payment on Friday 2026-12-11).
  const rows: { rule: string; name: string; status: EnrollmentStatus; now: string; overdue: boolean; days: number }[] =
    [
      {
        rule: 'R12',
        name: 'on the expected day itself',
        status: 'awaiting_confirmation',
        now: '2026-12-18T20:00:00Z',
        overdue: false,
        days: 0,
      },
      {
        rule: 'R12',
        name: '23:59 in Boston on the expected day (04:59 UTC the next day)',
        status: 'awaiting_confirmation',
        now: '2026-12-19T04:59:00Z',
        overdue: false,
        days: 0,
      },
      {
        rule: 'R12',
        name: 'the Saturday after: overdue, no business day yet',
        status: 'awaiting_confirmation',
        now: '2026-12-19T15:00:00Z',
        overdue: true,
        days: 0,
      },
      {
        rule: 'R12',
        name: 'the Monday after: one business day',
        status: 'awaiting_confirmation',
        now: '2026-12-21T15:00:00Z',
        overdue: true,
        days: 1,
      },
      {
        rule: 'R12',
        name: 'Monday 2026-12-28: five business days (Christmas not counted)',
        status: 'awaiting_confirmation',
        now: '2026-12-28T15:00:00Z',
        overdue: true,
        days: 5,
      },
      {
        rule: 'R12',
        name: 'confirmed: never overdue',
        status: 'confirmed',
        now: '2026-12-28T15:00:00Z',
        overdue: false,
        days: 0,
      },
      {
        rule: 'R12',
        name: 'cancelled: never overdue',
        status: 'cancelled',
        now: '2026-12-28T15:00:00Z',
        overdue: false,
        days: 0,
      },
    ];
  for (const r of rows) {
    const e = { status: r.status, confirmationExpectedBy: '2026-12-18' as Enrollment['confirmationExpectedBy'] };
    const msg = `${r.rule}: ${r.name}`;
    t.equal(isConfirmationOverdue(e, new Date(r.now)), r.overdue, `${msg}: overdue`);
    t.equal(businessDaysOverdue(e, new Date(r.now), massachusettsCalendar), r.days, `${msg}: businessDaysOverdue`);
  }
});

t.test('R14/R26: who a history entry shows as its actor', async (t) => {
  const entry = (actor: string, actorRole: HistoryEntry['actorRole']): HistoryEntry => ({
    at: AT,
    type: 'status_changed',
    from: 'pending_payment',
    to: 'cancelled',
    reason: null,
    actor,
    actorRole,
  });
  const ops = { keyId: 'key_ops', role: 'ops' as const, carrierId: null };
  const carrier = { keyId: 'key_carrier', role: 'carrier' as const, carrierId: 'c' };
  const rows: { rule: string; name: string; viewer: typeof ops | typeof carrier; h: HistoryEntry; shown: string }[] = [
    {
      rule: 'R14',
      name: 'ops see the key id',
      viewer: ops,
      h: entry('key_connector', 'connector'),
      shown: 'key_connector',
    },
    {
      rule: 'R26',
      name: 'a carrier sees its own key id',
      viewer: carrier,
      h: entry('key_carrier', 'carrier'),
      shown: 'key_carrier',
    },
    {
      rule: 'R26',
      name: 'a carrier sees another key only by its role',
      viewer: carrier,
      h: entry('key_connector', 'connector'),
      shown: 'connector',
    },
    { rule: 'R26', name: 'the system is the system', viewer: carrier, h: entry('system', null), shown: 'system' },
    { rule: 'R26', name: 'a key no longer known', viewer: carrier, h: entry('key_gone', null), shown: 'unknown' },
  ];
  for (const r of rows) t.equal(actorSeenBy(r.viewer, r.h), r.shown, `${r.rule}: ${r.name}`);
});
