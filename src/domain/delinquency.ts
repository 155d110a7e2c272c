import { addDays, addMonths, firstOfMonth, type IsoDate } from './dates.js';
import { DUE_DAY_OF_MONTH, paymentDueDate } from './deadlines.js';
import type { EnrollmentStatus } from './enrollment.js';

/**
 * Non-payment (R28-R31) as pure decisions over the facts of one enrollment: no clock (the business
 * date is an argument), no storage. The sweep and every read call `delinquencyAsOf`; the sweep then
 * writes what `stageTransitions` names. Contract for callers: any write that changes the facts
 * (payment, return, credit application) re-evaluates and records the standing as of its business
 * date in the same transaction, before the money moves, so the recorded anchor exists whenever it
 * matters and a cure is recorded "as soon as" it happens.
 */

/** R28: the subsidy kinds. ConnectorCare members also receive APTC and share its grace. */
export const SUBSIDIES = ['none', 'aptc', 'connectorcare'] as const;
export type Subsidy = (typeof SUBSIDIES)[number];

/** R29: every delinquency stage, in order. Each subsidy's list is a prefix of this one. */
export const DELINQUENCY_STAGES = ['past_due', 'termination_warning', 'final_termination_warning'] as const;
export type DelinquencyStage = (typeof DELINQUENCY_STAGES)[number];

/** R29/R30: notice types of the non-payment flow (the welcome letter is not one of them). */
export const NON_PAYMENT_NOTICE_TYPES = [...DELINQUENCY_STAGES, 'termination'] as const;
export type NonPaymentNoticeType = (typeof NON_PAYMENT_NOTICE_TYPES)[number];

export const NON_PAYMENT_EVENT_TYPES = [
  'enrollment.delinquent',
  'enrollment.delinquency_cured',
  'enrollment.terminated',
  'enrollment.reinstated',
] as const;
export type NonPaymentEventType = (typeof NON_PAYMENT_EVENT_TYPES)[number];

export const TERMINATION_REASON_NON_PAYMENT = 'non_payment';

/** The statuses this module reasons about. */
export type StandingStatus = EnrollmentStatus;

/** R29 table: the stages a subsidy goes through, in order. */
export function stagesFor(subsidy: Subsidy): readonly DelinquencyStage[] {
  switch (subsidy) {
    case 'none':
      return ['past_due'];
    case 'aptc':
    case 'connectorcare':
      return DELINQUENCY_STAGES;
    default:
      return assertNever(subsidy);
  }
}

/** R29: how many months after U the stage's pay-by month lies (its pay-by date is that month's R1 due date). */
export function stageOffset(stage: DelinquencyStage): number {
  switch (stage) {
    case 'past_due':
      return 1;
    case 'termination_warning':
      return 2;
    case 'final_termination_warning':
      return 3;
    default:
      return assertNever(stage);
  }
}

/** R29: a stage's pay-by date = the R1 due date of month U+1, U+2 or U+3 (U+1's is the 23rd of U). */
export function payByDate(anchor: IsoDate, stage: DelinquencyStage): IsoDate {
  return paymentDueDate(addMonths(anchor, stageOffset(stage)));
}

/** R29: only an enrollment whose binder is paid can be delinquent. */
export function canBeDelinquent(status: StandingStatus): boolean {
  switch (status) {
    case 'awaiting_confirmation':
    case 'confirmed':
      return true;
    case 'pending_payment':
    case 'cancelled':
    case 'terminated':
      return false;
    default:
      return assertNever(status);
  }
}

export function lastDayOfMonth(month: IsoDate): IsoDate {
  return addDays(addMonths(firstOfMonth(month), 1), -1);
}

export interface InvoiceFacts {
  coverageMonth: IsoDate;
  dueDate: IsoDate;
  amountDueCents: number;
  amountPaidCents: number;
  voided: boolean;
}

export interface EnrollmentFacts {
  status: StandingStatus;
  subsidy: Subsidy;
  coverageStart: IsoDate;
  /** Set once terminated (R30); months after it are never owed. */
  coverageEnd?: IsoDate | null;
  monthlyPremiumCents: number;
  creditCents: number;
  invoices: readonly InvoiceFacts[];
}

export interface OwedMonth {
  coverageMonth: IsoDate;
  dueDate: IsoDate;
  /** What is still owed for the month once the enrollment's credit is counted. */
  amountOwedCents: number;
  /** False when the month has no live invoice yet (it then owes the monthly premium). */
  invoiced: boolean;
}

export interface MonthsOwed {
  months: OwedMonth[];
  amountOwedCents: number;
}

/** One covered month before credit: its live invoice's balance, or the premium when not invoiced. */
interface MonthBalance {
  coverageMonth: IsoDate;
  dueDate: IsoDate;
  balanceCents: number;
  invoiced: boolean;
}

/**
 * R29/R16: every covered month (from `coverageStart`, never after `coverageEnd`) whose due date is on
 * or before `horizon`, with what it still owes. Void invoices are ignored: a month whose invoices are
 * all void owes the premium like a month not invoiced yet (the next billing run or a reinstatement
 * issues its live invoice). Credit counts as R16/I3 would apply it: to the oldest month first, so a
 * longer horizon never changes the months a shorter one holds.
 */
function ledger(horizon: IsoDate, f: EnrollmentFacts): OwedMonth[] {
  const out: OwedMonth[] = [];
  let credit = Math.max(0, f.creditCents);
  for (const m of coveredMonths(horizon, f)) {
    const applied = Math.min(credit, m.balanceCents);
    credit -= applied;
    out.push({
      coverageMonth: m.coverageMonth,
      dueDate: m.dueDate,
      amountOwedCents: m.balanceCents - applied,
      invoiced: m.invoiced,
    });
  }
  return out;
}

function coveredMonths(horizon: IsoDate, f: EnrollmentFacts): MonthBalance[] {
  const out: MonthBalance[] = [];
  const liveByMonth = new Map<string, InvoiceFacts[]>();
  for (const i of f.invoices) {
    if (!i.voided) liveByMonth.set(i.coverageMonth, [...(liveByMonth.get(i.coverageMonth) ?? []), i]);
  }
  // Month arithmetic on indexes (the sweep calls this for every enrollment): no Date per month.
  for (let index = monthIndex(f.coverageStart); ; index++) {
    const month = monthAt(index);
    const r1Due = `${monthAt(index - 1).slice(0, 8)}${DUE_DAY_OF_MONTH}` as IsoDate; // R1, as paymentDueDate
    if (r1Due > horizon || (f.coverageEnd && month > f.coverageEnd)) break;
    const live = liveByMonth.get(month) ?? [];
    const [first] = live;
    const dueDate = first ? first.dueDate : r1Due;
    if (dueDate > horizon) continue;
    const balanceCents = first
      ? live.reduce((sum, i) => sum + Math.max(0, i.amountDueCents - i.amountPaidCents), 0)
      : f.monthlyPremiumCents;
    out.push({ coverageMonth: month, dueDate, balanceCents, invoiced: first !== undefined });
  }
  return out;
}

function monthIndex(date: IsoDate): number {
  return Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1;
}

function monthAt(index: number): IsoDate {
  const month = (index % 12) + 1;
  return `${Math.floor(index / 12)}-${month < 10 ? '0' : ''}${month}-01` as IsoDate;
}

function owedIn(ledgerMonths: readonly OwedMonth[], payBy: IsoDate): MonthsOwed {
  const months = ledgerMonths.filter((m) => m.dueDate <= payBy && m.amountOwedCents > 0);
  return { months, amountOwedCents: months.reduce((sum, m) => sum + m.amountOwedCents, 0) };
}

/** R29: the anchor the facts show on `today`: the first month still owing once an invoice is late. */
function anchorIn(ledgerMonths: readonly OwedMonth[], today: IsoDate): IsoDate | null {
  const late = ledgerMonths.filter((m) => m.dueDate < today && m.amountOwedCents > 0);
  if (!late.some((m) => m.invoiced)) return null;
  return late[0]?.coverageMonth ?? null;
}

/** R29 "owed by then": every covered month due on or before `payBy` that is not paid in full, invoiced or not. */
export function monthsOwedBy(payBy: IsoDate, facts: EnrollmentFacts): MonthsOwed {
  return owedIn(ledger(payBy, facts), payBy);
}

/**
 * R29: delinquent on `today` when a live invoice whose due date is before `today` still has a balance
 * (credit counted); the cure is the same test turning false. Months not invoiced yet owe money
 * (`monthsOwed`) but do not by themselves start a delinquency: SPEC speaks of invoices.
 */
export function isDelinquentOn(today: IsoDate, facts: EnrollmentFacts): boolean {
  return firstUnpaidMonth(today, facts) !== null;
}

/**
 * R29: the first unpaid coverage month as the facts show it on `today` (null in good standing): the
 * anchor a new episode takes (invoiced or not). A recorded episode keeps its own anchor instead.
 */
export function firstUnpaidMonth(today: IsoDate, facts: EnrollmentFacts): IsoDate | null {
  if (!canBeDelinquent(facts.status)) return null;
  return anchorIn(ledger(addDays(today, -1), facts), today);
}

/** What the sweep keeps about an episode: its anchor U and the stage it last recorded. */
export interface RecordedDelinquency {
  anchor: IsoDate;
  stage: DelinquencyStage;
}

export interface Delinquency {
  stage: DelinquencyStage;
  firstUnpaidMonth: IsoDate;
  payBy: IsoDate;
  amountOwedCents: number;
  monthsOwed: IsoDate[];
}

export interface Termination {
  /** R30: the last covered day. */
  coverageEnd: IsoDate;
  /** R30: the first date after the last stage's pay-by date (whenever the sweep gets to it). */
  terminatedOn: IsoDate;
  reason: typeof TERMINATION_REASON_NON_PAYMENT;
  /** The episode it ends, and what was owed by its last pay-by date (for the termination notice). */
  firstUnpaidMonth: IsoDate;
  payBy: IsoDate;
  amountOwedCents: number;
  monthsOwed: IsoDate[];
}

/** null: good standing (or a status that cannot be delinquent). */
export type Standing = Delinquency | { terminate: Termination } | null;
export type StandingKind = 'good_standing' | 'delinquent' | 'terminate';

export function standingKind(s: Standing): StandingKind {
  if (s === null) return 'good_standing';
  return 'terminate' in s ? 'terminate' : 'delinquent';
}

export interface StandingInput {
  facts: EnrollmentFacts;
  /** What the sweep last recorded (null: no episode recorded, e.g. the sweep has not run yet). */
  recorded: RecordedDelinquency | null;
  /** The business date as of now. */
  today: IsoDate;
}

/**
 * R29/R30: the standing on `today`. Cured (null) as soon as no past-due invoice has a balance. A
 * recorded episode keeps its anchor (partial payments never move it) and its stage, and walks
 * forward; with none recorded, U is taken from the facts and the stages are walked from the first,
 * so a read before the sweep ran gives the same answer the sweep will record.
 */
export function delinquencyAsOf(input: StandingInput): Standing {
  const { facts, today } = input;
  if (!canBeDelinquent(facts.status)) return null;
  // One ledger reaching the last pay-by date any anchor up to this month can have.
  const all = ledger(paymentDueDate(addMonths(firstOfMonth(today), 3)), facts);
  const anchorNow = anchorIn(all, today);
  if (anchorNow === null) return null;
  const stages = stagesFor(facts.subsidy);
  const fresh: Episode = { anchor: anchorNow, index: 0 };
  // R25 with R29: a returned payment can leave a month before the recorded U unpaid again; U is the
  // first unpaid month, so the episode is walked again from there (a bounced payment never earns
  // more coverage than not paying).
  const resumable = input.recorded !== null && input.recorded.anchor <= anchorNow;
  let episode = resumable && input.recorded ? resumeEpisode(input.recorded, stages) : fresh;
  // A fresh episode's U is owed by every pay-by date, so at most one re-anchoring plus one walk.
  for (let step = 0; step <= 2 * stages.length + 1; step++) {
    const stage = stages[episode.index] as DelinquencyStage;
    const payBy = payByDate(episode.anchor, stage);
    const owed = owedIn(all, payBy);
    if (today <= payBy) return delinquency(stage, episode.anchor, payBy, owed);
    if (owed.months.length === 0) {
      // Everything this stage asked for is paid, so by the day after its pay-by date every past-due
      // invoice was paid: that episode was cured; what is late now is a new episode.
      episode = fresh;
      continue;
    }
    if (episode.index === stages.length - 1) return { terminate: termination(facts, episode.anchor, payBy, owed) };
    episode = { anchor: episode.anchor, index: episode.index + 1 };
  }
  throw new Error('delinquencyAsOf: the stage walk did not settle');
}

interface Episode {
  anchor: IsoDate;
  index: number;
}

/** A recorded stage the subsidy no longer has (the subsidy changed) continues at the subsidy's last stage. */
function resumeEpisode(recorded: RecordedDelinquency, stages: readonly DelinquencyStage[]): Episode {
  return { anchor: recorded.anchor, index: Math.min(stageOffset(recorded.stage), stages.length) - 1 };
}

function delinquency(stage: DelinquencyStage, anchor: IsoDate, payBy: IsoDate, owed: MonthsOwed): Delinquency {
  return {
    stage,
    firstUnpaidMonth: anchor,
    payBy,
    amountOwedCents: owed.amountOwedCents,
    monthsOwed: owed.months.map((m) => m.coverageMonth),
  };
}

/**
 * R30: `none` ends on the last day of the last month paid in full (the day before the earliest month
 * still owing); `aptc`/`connectorcare` on the last day of U, the first month of the grace period.
 */
export function nonPaymentCoverageEnd(subsidy: Subsidy, anchor: IsoDate, earliestOwed: IsoDate): IsoDate {
  switch (subsidy) {
    case 'none':
      return addDays(firstOfMonth(earliestOwed), -1);
    case 'aptc':
    case 'connectorcare':
      return lastDayOfMonth(anchor);
    default:
      return assertNever(subsidy);
  }
}

function termination(facts: EnrollmentFacts, anchor: IsoDate, payBy: IsoDate, owed: MonthsOwed): Termination {
  const [earliest] = owed.months;
  if (!earliest) throw new Error('termination: nothing owed');
  return {
    coverageEnd: nonPaymentCoverageEnd(facts.subsidy, anchor, earliest.coverageMonth),
    terminatedOn: addDays(payBy, 1),
    reason: TERMINATION_REASON_NON_PAYMENT,
    firstUnpaidMonth: anchor,
    payBy,
    amountOwedCents: owed.amountOwedCents,
    monthsOwed: owed.months.map((m) => m.coverageMonth),
  };
}

/** What the sweep records after `computed`: the episode, or nothing (good standing or terminated). */
export function recordOf(computed: Standing): RecordedDelinquency | null {
  switch (standingKind(computed)) {
    case 'delinquent': {
      const d = computed as Delinquency;
      return { anchor: d.firstUnpaidMonth, stage: d.stage };
    }
    case 'good_standing':
    case 'terminate':
      return null;
  }
}

export interface NonPaymentNotice {
  type: NonPaymentNoticeType;
  payBy: IsoDate;
  amountOwedCents: number;
  monthsOwed: IsoDate[];
  coverageEnd: IsoDate | null;
}

export type NonPaymentEvent =
  | { type: 'enrollment.delinquent'; data: { stage: DelinquencyStage; payBy: IsoDate; firstUnpaidMonth: IsoDate } }
  | { type: 'enrollment.delinquency_cured'; data: { firstUnpaidMonth: IsoDate } }
  | { type: 'enrollment.terminated'; data: { coverageEnd: IsoDate; reason: typeof TERMINATION_REASON_NON_PAYMENT } };

/** A history line (R14) for the step: the stage moves, or the status change of a termination. */
export interface NonPaymentHistory {
  type: 'delinquency_changed' | 'status_changed';
  from: string | null;
  to: string;
  reason: string;
}

export type StageTransition =
  | {
      kind: 'becameDelinquent';
      delinquency: Delinquency;
      notice: NonPaymentNotice;
      event: NonPaymentEvent;
      history: NonPaymentHistory;
    }
  | {
      kind: 'advanced';
      from: DelinquencyStage;
      delinquency: Delinquency;
      notice: NonPaymentNotice;
      event: NonPaymentEvent;
      history: NonPaymentHistory;
    }
  | { kind: 'cured'; firstUnpaidMonth: IsoDate; event: NonPaymentEvent; history: NonPaymentHistory }
  | {
      kind: 'terminated';
      termination: Termination;
      notice: NonPaymentNotice;
      event: NonPaymentEvent;
      history: NonPaymentHistory;
    };
export type StageTransitionKind = StageTransition['kind'];

/**
 * R29/R30: the named steps between what the sweep recorded and what it computed now, each once per
 * change, in the order they are written. A new anchor means the recorded episode was cured and a new
 * one began. Stages skipped while no sweep ran are not back-filled: only the current stage's notice
 * and event are written (a notice asking for payment by a date already past helps nobody).
 */
export function stageTransitions(
  recorded: RecordedDelinquency | null,
  computed: Standing,
  /** The enrollment's status now, for the termination's history line. */
  statusBefore?: StandingStatus,
): StageTransition[] {
  const out: StageTransition[] = [];
  const kind = standingKind(computed);
  // An anchor moved back to an earlier month (a return, R25) continues the episode: nothing was cured.
  const anchor = anchorOf(computed);
  const sameEpisode = recorded !== null && kind !== 'good_standing' && anchor !== null && anchor <= recorded.anchor;
  if (recorded && !sameEpisode) out.push(cured(recorded));
  switch (kind) {
    case 'good_standing':
      return out;
    case 'terminate':
      out.push(terminated((computed as { terminate: Termination }).terminate, statusBefore));
      return out;
    case 'delinquent': {
      const d = computed as Delinquency;
      if (!sameEpisode) out.push(becameDelinquent(d));
      else if (recorded && (recorded.stage !== d.stage || recorded.anchor !== d.firstUnpaidMonth)) {
        out.push(advanced(recorded.stage, d));
      }
      return out;
    }
  }
}

function anchorOf(s: Standing): IsoDate | null {
  if (s === null) return null;
  return 'terminate' in s ? s.terminate.firstUnpaidMonth : s.firstUnpaidMonth;
}

function stageNotice(d: Delinquency): NonPaymentNotice {
  return {
    type: d.stage,
    payBy: d.payBy,
    amountOwedCents: d.amountOwedCents,
    monthsOwed: d.monthsOwed,
    coverageEnd: null,
  };
}

function delinquentEvent(d: Delinquency): NonPaymentEvent {
  return {
    type: 'enrollment.delinquent',
    data: { stage: d.stage, payBy: d.payBy, firstUnpaidMonth: d.firstUnpaidMonth },
  };
}

function becameDelinquent(d: Delinquency): StageTransition {
  const history = { type: 'delinquency_changed' as const, from: null, to: d.stage, reason: 'non_payment' };
  return { kind: 'becameDelinquent', delinquency: d, notice: stageNotice(d), event: delinquentEvent(d), history };
}

function advanced(from: DelinquencyStage, d: Delinquency): StageTransition {
  const history = { type: 'delinquency_changed' as const, from, to: d.stage, reason: 'non_payment' };
  return { kind: 'advanced', from, delinquency: d, notice: stageNotice(d), event: delinquentEvent(d), history };
}

function cured(recorded: RecordedDelinquency): StageTransition {
  return {
    kind: 'cured',
    firstUnpaidMonth: recorded.anchor,
    event: { type: 'enrollment.delinquency_cured', data: { firstUnpaidMonth: recorded.anchor } },
    history: { type: 'delinquency_changed', from: recorded.stage, to: 'cured', reason: 'paid_in_full' },
  };
}

function terminated(t: Termination, statusBefore: StandingStatus | undefined): StageTransition {
  return {
    kind: 'terminated',
    termination: t,
    notice: {
      type: 'termination',
      payBy: t.payBy,
      amountOwedCents: t.amountOwedCents,
      monthsOwed: t.monthsOwed,
      coverageEnd: t.coverageEnd,
    },
    event: { type: 'enrollment.terminated', data: { coverageEnd: t.coverageEnd, reason: t.reason } },
    history: { type: 'status_changed', from: statusBefore ?? null, to: 'terminated', reason: t.reason },
  };
}

/** R30: billing runs issue nothing for a month after `coverageEnd`. */
export function billableMonth(month: IsoDate, coverageEnd: IsoDate | null | undefined): boolean {
  return !coverageEnd || month <= coverageEnd;
}

/** R30: live invoices of months after `coverageEnd` are voided; what was paid on each becomes credit. */
export function invoicesToVoidOnTermination<T extends InvoiceFacts>(
  invoices: readonly T[],
  coverageEnd: IsoDate,
): { invoices: { invoice: T; creditCents: number }[]; creditCents: number } {
  const voided = invoices
    .filter((i) => !i.voided && !billableMonth(i.coverageMonth, coverageEnd))
    .map((invoice) => ({ invoice, creditCents: invoice.amountPaidCents }));
  return { invoices: voided, creditCents: voided.reduce((sum, v) => sum + v.creditCents, 0) };
}

/** R31: the window is 35 calendar days after the termination's business date, that day included. */
export const REINSTATEMENT_WINDOW_DAYS = 35;

export type RestorableStatus = 'awaiting_confirmation' | 'confirmed';

export interface ReinstatementInput {
  status: StandingStatus;
  terminationReason: string | null;
  /** The business date of the termination (R30 `terminatedOn`). */
  terminatedOn: IsoDate;
  today: IsoDate;
  coverageEnd: IsoDate;
  monthlyPremiumCents: number;
  creditCents: number;
  /** Balances still open on live invoices of months up to `coverageEnd` (see `balanceThroughCoverageEnd`). */
  balanceThroughCoverageEndCents: number;
  statusBeforeTermination: RestorableStatus;
}

export interface ReissuedMonth {
  coverageMonth: IsoDate;
  dueDate: IsoDate;
  amountDueCents: number;
}

export type ReinstatementDecision =
  | {
      ok: true;
      months: ReissuedMonth[];
      amountRequiredCents: number;
      restoredStatus: RestorableStatus;
      creditAfterCents: number;
    }
  | { ok: false; code: 'not_reinstatable' }
  | { ok: false; code: 'reinstatement_window_closed'; windowClosedAfter: IsoDate }
  | { ok: false; code: 'reinstatement_payment_required'; amountRequiredCents: number; shortfallCents: number };

/**
 * R31: reinstate a termination for non-payment within the window, once the credit pays every month
 * from the month after `coverageEnd` through the month after the current business month, plus any
 * balance still open up to `coverageEnd` (an aptc member's month U): without it the reinstated
 * enrollment would be delinquent again at once, with every pay-by date already past.
 */
export function decideReinstatement(input: ReinstatementInput): ReinstatementDecision {
  if (input.status !== 'terminated' || input.terminationReason !== TERMINATION_REASON_NON_PAYMENT) {
    return { ok: false, code: 'not_reinstatable' };
  }
  const windowClosedAfter = addDays(input.terminatedOn, REINSTATEMENT_WINDOW_DAYS);
  if (input.today > windowClosedAfter) return { ok: false, code: 'reinstatement_window_closed', windowClosedAfter };
  const months = reinstatementMonths(input.coverageEnd, input.today).map((coverageMonth) => ({
    coverageMonth,
    dueDate: paymentDueDate(coverageMonth),
    amountDueCents: input.monthlyPremiumCents,
  }));
  const amountRequiredCents =
    months.reduce((sum, m) => sum + m.amountDueCents, 0) + Math.max(0, input.balanceThroughCoverageEndCents);
  if (input.creditCents < amountRequiredCents) {
    const shortfallCents = amountRequiredCents - Math.max(0, input.creditCents);
    return { ok: false, code: 'reinstatement_payment_required', amountRequiredCents, shortfallCents };
  }
  return {
    ok: true,
    months,
    amountRequiredCents,
    restoredStatus: input.statusBeforeTermination,
    creditAfterCents: input.creditCents - amountRequiredCents,
  };
}

/** R31: the months to reissue: from the month after `coverageEnd` through the month after `today`'s month. */
export function reinstatementMonths(coverageEnd: IsoDate, today: IsoDate): IsoDate[] {
  const last = addMonths(firstOfMonth(today), 1);
  const out: IsoDate[] = [];
  for (let m = firstOfMonth(addDays(coverageEnd, 1)); m <= last; m = addMonths(m, 1)) out.push(m);
  return out;
}

/** R31: what live invoices of months up to `coverageEnd` still owe. */
export function balanceThroughCoverageEnd(invoices: readonly InvoiceFacts[], coverageEnd: IsoDate): number {
  return invoices
    .filter((i) => !i.voided && i.coverageMonth <= coverageEnd)
    .reduce((sum, i) => sum + Math.max(0, i.amountDueCents - i.amountPaidCents), 0);
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}
