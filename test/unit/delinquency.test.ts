import fc from 'fast-check';
import t from 'tap';
import { addDays, addMonths, type IsoDate } from '../../src/domain/dates.js';
import { paymentDueDate } from '../../src/domain/deadlines.js';
import {
  balanceThroughCoverageEnd,
  billableMonth,
  DELINQUENCY_STAGES,
  type DelinquencyStage,
  decideReinstatement,
  delinquencyAsOf,
  type EnrollmentFacts,
  firstUnpaidMonth,
  type InvoiceFacts,
  invoicesToVoidOnTermination,
  isDelinquentOn,
  lastDayOfMonth,
  monthsOwedBy,
  payByDate,
  type RecordedDelinquency,
  type ReinstatementInput,
  recordOf,
  type Standing,
  type StandingStatus,
  type Subsidy,
  stagesFor,
  stageTransitions,
  standingKind,
} from '../../src/domain/delinquency.js';

const d = (s: string) => s as IsoDate;
const P = 45000;
const COVERAGE_START = d('2025-11-01');

const invoice = (month: string, paidCents = 0, over: Partial<InvoiceFacts> = {}): InvoiceFacts => ({
  coverageMonth: d(month),
  dueDate: paymentDueDate(d(month)),
  amountDueCents: P,
  amountPaidCents: paidCents,
  voided: false,
  ...over,
});

/**
 * The Connector's example member: binder paid for November 2025, December paid. Each month's
 * invoice exists from the billing run on the 1st of the month before it; `paid` says what each
 * month's invoice has received (default: nothing from January on).
 */
function member(
  today: string,
  opts: { subsidy?: Subsidy; paid?: Record<string, number>; creditCents?: number; status?: StandingStatus } = {},
): EnrollmentFacts {
  const paid: Record<string, number> = { '2025-11-01': P, '2025-12-01': P, ...opts.paid };
  const invoices: InvoiceFacts[] = [];
  for (let m = COVERAGE_START; addMonths(m, -1) <= d(today); m = addMonths(m, 1)) {
    invoices.push(invoice(m, paid[m] ?? 0));
  }
  return {
    status: opts.status ?? 'confirmed',
    subsidy: opts.subsidy ?? 'none',
    coverageStart: COVERAGE_START,
    monthlyPremiumCents: P,
    creditCents: opts.creditCents ?? 0,
    invoices,
  };
}

const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';
const APR = '2026-04-01';
const rec = (anchor: string, stage: DelinquencyStage): RecordedDelinquency => ({ anchor: d(anchor), stage });
const delinquent = (stage: DelinquencyStage, anchor: string, payBy: string, months: string[], owed?: number) => ({
  stage,
  firstUnpaidMonth: d(anchor),
  payBy: d(payBy),
  amountOwedCents: owed ?? months.length * P,
  monthsOwed: months.map(d),
});
const terminate = (coverageEnd: string, terminatedOn: string, anchor: string, payBy: string, months: string[]) => ({
  terminate: {
    coverageEnd: d(coverageEnd),
    terminatedOn: d(terminatedOn),
    reason: 'non_payment' as const,
    firstUnpaidMonth: d(anchor),
    payBy: d(payBy),
    amountOwedCents: months.length * P,
    monthsOwed: months.map(d),
  },
});

t.test('R29: the stages of each subsidy and their pay-by dates (R1 due date of U+1..U+3)', async (t) => {
  const rows: { rule: string; subsidy: Subsidy; stages: DelinquencyStage[] }[] = [
    { rule: 'R29', subsidy: 'none', stages: ['past_due'] },
    { rule: 'R29', subsidy: 'aptc', stages: [...DELINQUENCY_STAGES] },
    { rule: 'R28', subsidy: 'connectorcare', stages: [...DELINQUENCY_STAGES] },
  ];
  for (const row of rows) t.same(stagesFor(row.subsidy), row.stages, `${row.rule}: ${row.subsidy}`);
  const payBys: { rule: string; stage: DelinquencyStage; payBy: string }[] = [
    { rule: 'R29', stage: 'past_due', payBy: '2026-01-23' },
    { rule: 'R29', stage: 'termination_warning', payBy: '2026-02-23' },
    { rule: 'R29', stage: 'final_termination_warning', payBy: '2026-03-23' },
  ];
  for (const row of payBys) t.equal(payByDate(d(JAN), row.stage), row.payBy, `${row.rule}: ${row.stage}`);
  t.equal(payByDate(d('2026-12-01'), 'termination_warning'), '2027-01-23', 'R29: pay-by crosses the year');
});

/** R29/R30: the Connector's example for a subsidised member, stage by stage. */
function subsidisedStages(subsidy: Subsidy): StandingRow[] {
  return [
    {
      rule: 'R29',
      name: `${subsidy}: past_due on 2025-12-24 (pay-by 2026-01-23)`,
      facts: member('2025-12-24', { subsidy }),
      today: '2025-12-24',
      expect: delinquent('past_due', JAN, '2026-01-23', [JAN, FEB]),
    },
    {
      rule: 'R29',
      name: `${subsidy}: termination_warning on 2026-01-24 (pay-by 2026-02-23, January-March)`,
      facts: member('2026-01-24', { subsidy }),
      today: '2026-01-24',
      recorded: rec(JAN, 'past_due'),
      expect: delinquent('termination_warning', JAN, '2026-02-23', [JAN, FEB, MAR]),
    },
    {
      rule: 'R29',
      name: `${subsidy}: final_termination_warning on 2026-02-24 (pay-by 2026-03-23, January-April)`,
      facts: member('2026-02-24', { subsidy }),
      today: '2026-02-24',
      recorded: rec(JAN, 'termination_warning'),
      expect: delinquent('final_termination_warning', JAN, '2026-03-23', [JAN, FEB, MAR, APR]),
    },
    {
      rule: 'R29',
      name: `${subsidy}: a read before the sweep walks the stages forward`,
      facts: member('2026-02-24', { subsidy }),
      today: '2026-02-24',
      expect: delinquent('final_termination_warning', JAN, '2026-03-23', [JAN, FEB, MAR, APR]),
    },
    {
      rule: 'R30',
      name: `${subsidy}: terminated on 2026-03-24, coverageEnd 2026-01-31 (last day of U)`,
      facts: member('2026-03-24', { subsidy }),
      today: '2026-03-24',
      recorded: rec(JAN, 'final_termination_warning'),
      expect: terminate('2026-01-31', '2026-03-24', JAN, '2026-03-23', [JAN, FEB, MAR, APR]),
    },
  ];
}

/** R29/R30: cures, partial payments and the kept anchor for a subsidised member. */
function subsidisedCures(subsidy: Subsidy): StandingRow[] {
  return [
    {
      rule: 'R29',
      name: `${subsidy}: cured by paying January-March in full on the pay-by date 2026-02-23`,
      facts: member('2026-02-23', { subsidy, paid: { [JAN]: P, [FEB]: P, [MAR]: P } }),
      today: '2026-02-23',
      recorded: rec(JAN, 'termination_warning'),
      expect: null,
    },
    {
      rule: 'R29',
      name: `${subsidy}: cured by paying January-April in full on the pay-by date 2026-03-23`,
      facts: member('2026-03-23', { subsidy, paid: { [JAN]: P, [FEB]: P, [MAR]: P, [APR]: P } }),
      today: '2026-03-23',
      recorded: rec(JAN, 'final_termination_warning'),
      expect: null,
    },
    {
      rule: 'R29',
      name: `${subsidy}: a partial payment leaves the stage and its anchor unchanged`,
      facts: member('2026-02-10', { subsidy, paid: { [JAN]: P / 2 } }),
      today: '2026-02-10',
      recorded: rec(JAN, 'termination_warning'),
      expect: delinquent('termination_warning', JAN, '2026-02-23', [JAN, FEB, MAR], 3 * P - P / 2),
    },
    {
      rule: 'R29',
      name: `${subsidy}: U paid but February late: the recorded anchor is kept`,
      facts: member('2026-02-10', { subsidy, paid: { [JAN]: P } }),
      today: '2026-02-10',
      recorded: rec(JAN, 'termination_warning'),
      expect: delinquent('termination_warning', JAN, '2026-02-23', [FEB, MAR]),
    },
    {
      rule: 'R25',
      name: `${subsidy}: a return leaves January unpaid again under a recorded episode anchored on March: U is January`,
      facts: member('2026-02-26', { subsidy, paid: { [FEB]: P } }),
      today: '2026-02-26',
      recorded: rec(MAR, 'past_due'),
      expect: delinquent('final_termination_warning', JAN, '2026-03-23', [JAN, MAR, APR]),
    },
    {
      rule: 'R30',
      name: `${subsidy}: U paid, February still owed after the last pay-by date: coverageEnd is still the last day of U`,
      facts: member('2026-03-24', { subsidy, paid: { [JAN]: P } }),
      today: '2026-03-24',
      recorded: rec(JAN, 'final_termination_warning'),
      expect: terminate('2026-01-31', '2026-03-24', JAN, '2026-03-23', [FEB, MAR, APR]),
    },
    {
      rule: 'R29',
      name: `${subsidy}: a sweep that missed weeks walks two stages at once`,
      facts: member('2026-03-01', { subsidy }),
      today: '2026-03-01',
      recorded: rec(JAN, 'past_due'),
      expect: delinquent('final_termination_warning', JAN, '2026-03-23', [JAN, FEB, MAR, APR]),
    },
  ];
}

type StandingRow = {
  rule: string;
  name: string;
  facts: EnrollmentFacts;
  today: string;
  recorded?: RecordedDelinquency;
  expect: Standing;
};
const STANDING_ROWS: StandingRow[] = [
  {
    rule: 'R29',
    name: 'a recorded stage whose months are all paid after its pay-by date was cured; what is late now is a new episode',
    facts: member('2026-02-24', { paid: { [JAN]: P, [FEB]: P } }),
    today: '2026-02-24',
    recorded: rec(JAN, 'past_due'),
    expect: delinquent('past_due', MAR, '2026-03-23', [MAR, APR]),
  },
  {
    rule: 'R29',
    name: 'due date itself: not yet late',
    facts: member('2025-12-23'),
    today: '2025-12-23',
    expect: null,
  },
  {
    rule: 'R29',
    name: 'none: January unpaid on 2025-12-23 -> past_due on 2025-12-24, January and February by 2026-01-23',
    facts: member('2025-12-24'),
    today: '2025-12-24',
    expect: delinquent('past_due', JAN, '2026-01-23', [JAN, FEB]),
  },
  {
    rule: 'R29',
    name: 'none: past_due still on its pay-by date',
    facts: member('2026-01-23'),
    today: '2026-01-23',
    recorded: rec(JAN, 'past_due'),
    expect: delinquent('past_due', JAN, '2026-01-23', [JAN, FEB]),
  },
  {
    rule: 'R30',
    name: 'none: still unpaid on 2026-01-24 -> terminated, coverageEnd 2025-12-31',
    facts: member('2026-01-24'),
    today: '2026-01-24',
    recorded: rec(JAN, 'past_due'),
    expect: terminate('2025-12-31', '2026-01-24', JAN, '2026-01-23', [JAN, FEB]),
  },
  {
    rule: 'R30',
    name: 'none: the same termination read before any sweep ran',
    facts: member('2026-01-24'),
    today: '2026-01-24',
    expect: terminate('2025-12-31', '2026-01-24', JAN, '2026-01-23', [JAN, FEB]),
  },
  ...(['aptc', 'connectorcare'] as const).flatMap((subsidy) => [
    ...subsidisedStages(subsidy),
    ...subsidisedCures(subsidy),
  ]),
  {
    rule: 'R29',
    name: 'none: cured by paying January and February on the pay-by date 2026-01-23',
    facts: member('2026-01-23', { paid: { [JAN]: P, [FEB]: P } }),
    today: '2026-01-23',
    recorded: rec(JAN, 'past_due'),
    expect: null,
  },
  {
    rule: 'R29',
    name: 'none: a partial payment leaves past_due and its anchor unchanged',
    facts: member('2026-01-10', { paid: { [JAN]: P / 2 } }),
    today: '2026-01-10',
    recorded: rec(JAN, 'past_due'),
    expect: delinquent('past_due', JAN, '2026-01-23', [JAN, FEB], 2 * P - P / 2),
  },
  {
    rule: 'R30',
    name: 'none: January paid, February not by the pay-by date (recorded anchor January): coverageEnd 2026-01-31',
    facts: member('2026-01-24', { paid: { [JAN]: P } }),
    today: '2026-01-24',
    recorded: rec(JAN, 'past_due'),
    expect: terminate('2026-01-31', '2026-01-24', JAN, '2026-01-23', [FEB]),
  },
  {
    rule: 'R29',
    name: 'none: January paid before February fell due cures; February late opens a new episode',
    facts: member('2026-01-24', { paid: { [JAN]: P } }),
    today: '2026-01-24',
    expect: delinquent('past_due', FEB, '2026-02-23', [FEB, MAR]),
  },
  {
    rule: 'R30',
    name: 'none: January paid, February never: terminated 2026-02-24 with coverageEnd 2026-01-31',
    facts: member('2026-02-24', { paid: { [JAN]: P } }),
    today: '2026-02-24',
    recorded: rec(FEB, 'past_due'),
    expect: terminate('2026-01-31', '2026-02-24', FEB, '2026-02-23', [FEB, MAR]),
  },
  {
    rule: 'R16',
    name: 'credit counts: credit covering January means no delinquency',
    facts: member('2025-12-24', { creditCents: P }),
    today: '2025-12-24',
    expect: null,
  },
  {
    rule: 'R16',
    name: 'credit counts: part credit lowers what is owed, oldest month first',
    facts: member('2025-12-24', { creditCents: 10000 }),
    today: '2025-12-24',
    expect: delinquent('past_due', JAN, '2026-01-23', [JAN, FEB], 2 * P - 10000),
  },
  {
    rule: 'R29',
    name: 'pending_payment is never delinquent',
    facts: member('2025-12-24', { status: 'pending_payment' }),
    today: '2025-12-24',
    expect: null,
  },
  {
    rule: 'R13',
    name: 'cancelled is never delinquent',
    facts: member('2025-12-24', { status: 'cancelled' }),
    today: '2025-12-24',
    expect: null,
  },
  {
    rule: 'R30',
    name: 'terminated is never delinquent again',
    facts: member('2026-02-24', { status: 'terminated' }),
    today: '2026-02-24',
    expect: null,
  },
  {
    rule: 'R28',
    name: 'a recorded stage the subsidy no longer has continues at the last stage it has',
    facts: member('2026-01-30'),
    today: '2026-01-30',
    recorded: rec(JAN, 'termination_warning'),
    expect: terminate('2025-12-31', '2026-01-24', JAN, '2026-01-23', [JAN, FEB]),
  },
];

t.test('R29/R30: standing as of a date (the Connector example and its variations)', async (t) => {
  for (const row of STANDING_ROWS) {
    const got = delinquencyAsOf({ facts: row.facts, recorded: row.recorded ?? null, today: d(row.today) });
    t.same(got, row.expect, `${row.rule}: ${row.name}`);
    t.equal(isDelinquentOn(d(row.today), row.facts), got !== null, `${row.rule}: ${row.name} (isDelinquentOn)`);
  }
});

const OWED_ROWS: {
  rule: string;
  name: string;
  facts: EnrollmentFacts;
  payBy: string;
  months: string[];
  amountOwedCents: number;
  invoiced: boolean[];
}[] = [
  {
    rule: 'R29',
    name: 'February not invoiced yet on 2025-12-24 owes the monthly premium',
    facts: member('2025-12-24'),
    payBy: '2026-01-23',
    months: [JAN, FEB],
    amountOwedCents: 2 * P,
    invoiced: [true, false],
  },
  {
    rule: 'R29',
    name: 'a month whose only invoice is void owes the premium as if not invoiced',
    facts: { ...member('2026-01-10'), invoices: member('2026-01-10').invoices.map(voidMonth(FEB)) },
    payBy: '2026-01-23',
    months: [JAN, FEB],
    amountOwedCents: 2 * P,
    invoiced: [true, false],
  },
  {
    rule: 'R30',
    name: 'months after coverageEnd are not owed',
    facts: { ...member('2026-01-10'), coverageEnd: d('2025-12-31') },
    payBy: '2026-03-23',
    months: [],
    amountOwedCents: 0,
    invoiced: [],
  },
  {
    rule: 'R16',
    name: 'credit pays the oldest month first, then the next',
    facts: member('2025-12-24', { creditCents: P + 100 }),
    payBy: '2026-01-23',
    months: [FEB],
    amountOwedCents: P - 100,
    invoiced: [false],
  },
  {
    rule: 'R29',
    name: 'months before coverageStart are never owed',
    facts: { ...member('2025-12-24'), coverageStart: d('2026-01-01'), invoices: [invoice(JAN)] },
    payBy: '2026-01-23',
    months: [JAN, FEB],
    amountOwedCents: 2 * P,
    invoiced: [true, false],
  },
];

t.test('R29: months owed by a pay-by date, invoiced or not', async (t) => {
  for (const row of OWED_ROWS) {
    const got = monthsOwedBy(d(row.payBy), row.facts);
    t.same(
      got.months.map((m) => m.coverageMonth),
      row.months,
      `${row.rule}: ${row.name} (months)`,
    );
    t.equal(got.amountOwedCents, row.amountOwedCents, `${row.rule}: ${row.name} (amount)`);
    t.same(
      got.months.map((m) => m.invoiced),
      row.invoiced,
      `${row.rule}: ${row.name} (invoiced)`,
    );
  }
  t.equal(
    delinquencyAsOf({ facts: rowsVoidJan(), recorded: null, today: d('2025-12-24') }),
    null,
    'R29: a month with no live invoice owes money but does not start a delinquency by itself',
  );
});

function voidMonth(month: string) {
  return (i: InvoiceFacts): InvoiceFacts => (i.coverageMonth === month ? { ...i, voided: true } : i);
}

function rowsVoidJan(): EnrollmentFacts {
  const f = member('2025-12-24');
  return { ...f, invoices: f.invoices.map(voidMonth(JAN)) };
}

const pastDue = delinquent('past_due', JAN, '2026-01-23', [JAN, FEB]);
const warning = delinquent('termination_warning', JAN, '2026-02-23', [JAN, FEB, MAR]);
const febEpisode = delinquent('past_due', FEB, '2026-02-23', [FEB, MAR]);
const ended = terminate('2025-12-31', '2026-01-24', JAN, '2026-01-23', [JAN, FEB]);
const TRANSITION_ROWS: {
  rule: string;
  name: string;
  recorded: RecordedDelinquency | null;
  computed: Standing;
  kinds: string[];
  notices: string[];
  events: string[];
}[] = [
  { rule: 'R29', name: 'good standing stays', recorded: null, computed: null, kinds: [], notices: [], events: [] },
  {
    rule: 'R29',
    name: 'becomes delinquent',
    recorded: null,
    computed: pastDue,
    kinds: ['becameDelinquent'],
    notices: ['past_due'],
    events: ['enrollment.delinquent'],
  },
  {
    rule: 'R29',
    name: 'the same stage again records nothing',
    recorded: rec(JAN, 'past_due'),
    computed: pastDue,
    kinds: [],
    notices: [],
    events: [],
  },
  {
    rule: 'R29',
    name: 'advances',
    recorded: rec(JAN, 'past_due'),
    computed: warning,
    kinds: ['advanced'],
    notices: ['termination_warning'],
    events: ['enrollment.delinquent'],
  },
  {
    rule: 'R29',
    name: 'cured',
    recorded: rec(JAN, 'termination_warning'),
    computed: null,
    kinds: ['cured'],
    notices: [],
    events: ['enrollment.delinquency_cured'],
  },
  {
    rule: 'R29',
    name: 'a new anchor: the old episode was cured, a new one began',
    recorded: rec(JAN, 'past_due'),
    computed: febEpisode,
    kinds: ['cured', 'becameDelinquent'],
    notices: ['past_due'],
    events: ['enrollment.delinquency_cured', 'enrollment.delinquent'],
  },
  {
    rule: 'R25',
    name: 'a return moved U back to an earlier month: the episode goes on (no cure), with a notice for it',
    recorded: rec('2026-02-01' as IsoDate, 'past_due'),
    computed: warning,
    kinds: ['advanced'],
    notices: ['termination_warning'],
    events: ['enrollment.delinquent'],
  },
  {
    rule: 'R29',
    name: 'first seen at a later stage: one notice, for the current stage only',
    recorded: null,
    computed: warning,
    kinds: ['becameDelinquent'],
    notices: ['termination_warning'],
    events: ['enrollment.delinquent'],
  },
  {
    rule: 'R30',
    name: 'terminated',
    recorded: rec(JAN, 'past_due'),
    computed: ended,
    kinds: ['terminated'],
    notices: ['termination'],
    events: ['enrollment.terminated'],
  },
  {
    rule: 'R30',
    name: 'terminated with nothing recorded before',
    recorded: null,
    computed: ended,
    kinds: ['terminated'],
    notices: ['termination'],
    events: ['enrollment.terminated'],
  },
];

t.test('R29/R30: named stage transitions, each once per change', async (t) => {
  for (const row of TRANSITION_ROWS) {
    const got = stageTransitions(row.recorded, row.computed, 'confirmed');
    const label = `${row.rule}: ${row.name}`;
    t.same(
      got.map((x) => x.kind),
      row.kinds,
      `${label} (transitions)`,
    );
    t.same(
      got.flatMap((x) => ('notice' in x ? [x.notice.type] : [])),
      row.notices,
      `${label} (notices)`,
    );
    t.same(
      got.map((x) => x.event.type),
      row.events,
      `${label} (events)`,
    );
  }

  const [became] = stageTransitions(null, pastDue);
  t.same(
    became?.event,
    { type: 'enrollment.delinquent', data: { stage: 'past_due', payBy: '2026-01-23', firstUnpaidMonth: JAN } },
    'R29: enrollment.delinquent carries stage, payBy, firstUnpaidMonth',
  );
  t.same(
    became && 'notice' in became ? became.notice : null,
    { type: 'past_due', payBy: '2026-01-23', amountOwedCents: 2 * P, monthsOwed: [JAN, FEB], coverageEnd: null },
    'R29: the stage notice carries payBy, amountOwedCents, monthsOwed',
  );
  const [term] = stageTransitions(rec(JAN, 'past_due'), ended, 'confirmed');
  t.same(
    term?.event,
    { type: 'enrollment.terminated', data: { coverageEnd: '2025-12-31', reason: 'non_payment' } },
    'R30: enrollment.terminated carries coverageEnd and reason non_payment',
  );
  t.same(
    term?.history,
    { type: 'status_changed', from: 'confirmed', to: 'terminated', reason: 'non_payment' },
    'R14/R30: the termination is a status change in the history',
  );
  t.same(recordOf(warning), rec(JAN, 'termination_warning'), 'R29: the sweep records anchor and stage');
  t.equal(recordOf(ended), null, 'R30: nothing recorded after termination');
  t.equal(standingKind(ended), 'terminate', 'R30: standing kind');
});

t.test('R30: voids on termination and billing after coverageEnd', async (t) => {
  const invoices = [invoice('2025-12-01', P), invoice(JAN, 0), invoice(FEB, P / 2), invoice(MAR, P, { voided: true })];
  const got = invoicesToVoidOnTermination(invoices, d('2025-12-31'));
  t.same(
    got.invoices.map((v) => [v.invoice.coverageMonth, v.creditCents]),
    [
      [JAN, 0],
      [FEB, P / 2],
    ],
    'R30: January and February are voided (February is the example invoice to void), already-void March is not',
  );
  t.equal(got.creditCents, P / 2, 'R30: money paid on voided invoices becomes credit');
  const rows: { rule: string; month: string; coverageEnd: string | null; billable: boolean }[] = [
    { rule: 'R16', month: FEB, coverageEnd: null, billable: true },
    { rule: 'R30', month: JAN, coverageEnd: '2026-01-31', billable: true },
    { rule: 'R30', month: FEB, coverageEnd: '2026-01-31', billable: false },
    { rule: 'R30', month: JAN, coverageEnd: '2025-12-31', billable: false },
  ];
  for (const row of rows) {
    t.equal(
      billableMonth(d(row.month), row.coverageEnd ? d(row.coverageEnd) : null),
      row.billable,
      `${row.rule}: ${row.month} with coverageEnd ${row.coverageEnd}`,
    );
  }
});
const notReinstatable = { ok: false, code: 'not_reinstatable' };
const REINSTATE_BASE: ReinstatementInput = {
  status: 'terminated',
  terminationReason: 'non_payment',
  terminatedOn: d('2026-01-24'),
  today: d('2026-01-30'),
  coverageEnd: d('2025-12-31'),
  monthlyPremiumCents: P,
  creditCents: 2 * P,
  balanceThroughCoverageEndCents: 0,
  statusBeforeTermination: 'confirmed',
};
const REINSTATE_ROWS: { rule: string; name: string; input: Partial<ReinstatementInput>; expect: unknown }[] = [
  {
    rule: 'R31',
    name: 'inside the window with enough credit: January and February reissued',
    input: {},
    expect: {
      ok: true,
      months: [
        { coverageMonth: JAN, dueDate: '2025-12-23', amountDueCents: P },
        { coverageMonth: FEB, dueDate: '2026-01-23', amountDueCents: P },
      ],
      amountRequiredCents: 2 * P,
      restoredStatus: 'confirmed',
      creditAfterCents: 0,
    },
  },
  {
    rule: 'R31',
    name: 'short credit: the exact shortfall',
    input: { creditCents: 2 * P - 1234 },
    expect: { ok: false, code: 'reinstatement_payment_required', amountRequiredCents: 2 * P, shortfallCents: 1234 },
  },
  {
    rule: 'R31',
    name: 'no credit at all: the whole amount is short',
    input: { creditCents: 0 },
    expect: { ok: false, code: 'reinstatement_payment_required', amountRequiredCents: 2 * P, shortfallCents: 2 * P },
  },
  {
    rule: 'R31',
    name: 'day 35 after the termination is inside the window (through the month after February: 3 months)',
    input: { today: d('2026-02-28'), creditCents: 3 * P + 5 },
    expect: {
      ok: true,
      months: [JAN, FEB, MAR].map((m) => ({ coverageMonth: m, dueDate: paymentDueDate(d(m)), amountDueCents: P })),
      amountRequiredCents: 3 * P,
      restoredStatus: 'confirmed',
      creditAfterCents: 5,
    },
  },
  {
    rule: 'R31',
    name: 'day 36 is outside the window',
    input: { today: d('2026-03-01'), creditCents: 10 * P },
    expect: { ok: false, code: 'reinstatement_window_closed', windowClosedAfter: '2026-02-28' },
  },
  {
    rule: 'R31',
    name: 'aptc: months after January plus January still owed',
    input: {
      terminatedOn: d('2026-03-24'),
      today: d('2026-03-30'),
      coverageEnd: d('2026-01-31'),
      balanceThroughCoverageEndCents: P,
      creditCents: 3 * P,
      statusBeforeTermination: 'awaiting_confirmation',
    },
    expect: { ok: false, code: 'reinstatement_payment_required', amountRequiredCents: 4 * P, shortfallCents: P },
  },
  {
    rule: 'R31',
    name: 'the status before termination returns',
    input: {
      terminatedOn: d('2026-03-24'),
      today: d('2026-03-30'),
      coverageEnd: d('2026-01-31'),
      creditCents: 3 * P,
      statusBeforeTermination: 'awaiting_confirmation',
    },
    expect: {
      ok: true,
      months: [FEB, MAR, APR].map((m) => ({ coverageMonth: m, dueDate: paymentDueDate(d(m)), amountDueCents: P })),
      amountRequiredCents: 3 * P,
      restoredStatus: 'awaiting_confirmation',
      creditAfterCents: 0,
    },
  },
  {
    rule: 'R31',
    name: 'cancelled',
    input: { status: 'cancelled', terminationReason: null },
    expect: notReinstatable,
  },
  {
    rule: 'R31',
    name: 'confirmed',
    input: { status: 'confirmed', terminationReason: null },
    expect: notReinstatable,
  },
  {
    rule: 'R31',
    name: 'terminated for another reason',
    input: { terminationReason: 'carrier_request' },
    expect: notReinstatable,
  },
];

t.test('R31: reinstatement decisions', async (t) => {
  for (const row of REINSTATE_ROWS) {
    t.same(decideReinstatement({ ...REINSTATE_BASE, ...row.input }), row.expect, `${row.rule}: ${row.name}`);
  }
  t.equal(
    balanceThroughCoverageEnd([invoice(JAN, 100), invoice(FEB, 0), invoice('2025-12-01', P)], d('2026-01-31')),
    P - 100,
    'R31: the balance still open up to coverageEnd',
  );
});

// ---- Property: the sweep (recorded state fed back, day by day) agrees with reads, R30 holds ----

type Behaviour =
  | { kind: 'on_time'; offset: number }
  | { kind: 'late'; offset: number }
  | { kind: 'partial'; offset: number; percent: number }
  | { kind: 'double'; offset: number }
  | { kind: 'skip' };

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('on_time' as const), offset: fc.integer({ min: -22, max: 0 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('late' as const), offset: fc.integer({ min: 1, max: 95 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('partial' as const),
      offset: fc.integer({ min: -10, max: 40 }),
      percent: fc.integer({ min: 10, max: 90 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('double' as const), offset: fc.integer({ min: -15, max: 5 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('skip' as const) }) },
);

const MONTHS = Array.from({ length: 12 }, (_, i) => addMonths(COVERAGE_START, i));
const LAST_DAY = d('2026-10-31');

function paymentsOf(plan: Behaviour[], premium: number): Map<IsoDate, number[]> {
  const out = new Map<IsoDate, number[]>();
  plan.forEach((b, i) => {
    const month = MONTHS[i + 1] as IsoDate;
    if (b.kind === 'skip') return;
    const day = addDays(paymentDueDate(month), b.offset);
    const cents =
      b.kind === 'partial' ? Math.floor((premium * b.percent) / 100) : b.kind === 'double' ? 2 * premium : premium;
    out.set(day, [...(out.get(day) ?? []), cents]);
  });
  return out;
}

interface Sim {
  facts: EnrollmentFacts & { invoices: InvoiceFacts[] };
  recorded: RecordedDelinquency | null;
  noticed: Set<string>;
  stats: { terminated: boolean; cured: number; stages: Set<DelinquencyStage> };
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

/** R16: the billing run for a month, with credit applied to the new invoice first. */
function billingRun(sim: Sim, month: IsoDate): void {
  const f = sim.facts;
  if (!billableMonth(month, f.coverageEnd) || f.invoices.some((i) => i.coverageMonth === month && !i.voided)) return;
  const applied = Math.min(f.creditCents, f.monthlyPremiumCents);
  f.creditCents -= applied;
  f.invoices.push({ ...invoice(month, applied), amountDueCents: f.monthlyPremiumCents });
}

/** R24: a payment naming the enrollment pays its oldest open invoices; the rest becomes credit (I3). */
function pay(sim: Sim, cents: number): void {
  let left = cents;
  for (const i of sim.facts.invoices) {
    if (i.voided || left === 0) continue;
    const applied = Math.min(left, i.amountDueCents - i.amountPaidCents);
    i.amountPaidCents += applied;
    left -= applied;
  }
  sim.facts.creditCents += left;
}

/** One evaluation as the sweep or a payment path runs it; returns true once terminated. */
function evaluate(sim: Sim, today: IsoDate): boolean {
  const { facts } = sim;
  const computed = delinquencyAsOf({ facts, recorded: sim.recorded, today });
  const fresh = delinquencyAsOf({ facts, recorded: null, today });
  const anchorReset = sim.recorded !== null && firstUnpaidMonth(today, facts) !== sim.recorded.anchor;
  if (!anchorReset) {
    check(JSON.stringify(computed) === JSON.stringify(fresh), `${today}: sweep ${j(computed)} != read ${j(fresh)}`);
  }
  checkAgainstOracle(sim, today, computed);
  const transitions = stageTransitions(sim.recorded, computed, facts.status);
  for (const tr of transitions) {
    if (tr.kind === 'cured') {
      sim.noticed.clear();
      sim.stats.cured++;
    }
    if (tr.kind === 'becameDelinquent') sim.noticed.clear();
    if ('notice' in tr) {
      check(!sim.noticed.has(tr.notice.type), `${today}: notice ${tr.notice.type} twice in one episode`);
      sim.noticed.add(tr.notice.type);
    }
  }
  const next = recordOf(computed);
  const again = delinquencyAsOf({ facts, recorded: next, today });
  if (next) check(stageTransitions(next, again).length === 0, `${today}: recording is not idempotent`);
  if (computed && 'stage' in computed) sim.stats.stages.add(computed.stage);
  const anchor = sim.recorded?.anchor ?? null;
  sim.recorded = next;
  if (computed === null || !('terminate' in computed)) return false;
  checkTermination(sim, today, computed.terminate, anchor);
  return true;
}

/** Independent of the engine: late = a live invoice past its due date with a balance; what is owed by payBy. */
function checkAgainstOracle(sim: Sim, today: IsoDate, computed: Standing): void {
  const f = sim.facts;
  const late = f.invoices.some((i) => !i.voided && i.dueDate < today && i.amountPaidCents < i.amountDueCents);
  check(late === (computed !== null), `${today}: late=${late} but standing ${j(computed)}`);
  if (computed === null || 'terminate' in computed) return;
  check(computed.payBy === payByDate(computed.firstUnpaidMonth, computed.stage), `${today}: payBy of ${j(computed)}`);
  check(today <= computed.payBy, `${today}: payBy ${computed.payBy} already passed`);
  if (f.creditCents > 0) return;
  const owed = Array.from({ length: 16 }, (_, i) => addMonths(COVERAGE_START, i)).filter((m) => {
    const live = f.invoices.find((i) => i.coverageMonth === m && !i.voided);
    return paymentDueDate(m) <= computed.payBy && (!live || live.amountPaidCents < live.amountDueCents);
  });
  check(j(owed) === j(computed.monthsOwed), `${today}: monthsOwed ${j(computed.monthsOwed)} != ${j(owed)}`);
}

function checkTermination(
  sim: Sim,
  today: IsoDate,
  t: { coverageEnd: IsoDate; terminatedOn: IsoDate; firstUnpaidMonth: IsoDate },
  recordedAnchor: IsoDate | null,
): void {
  const f = sim.facts;
  const stages = stagesFor(f.subsidy);
  check(t.terminatedOn === today, `terminatedOn ${t.terminatedOn} != ${today}`);
  check(recordedAnchor === null || recordedAnchor === t.firstUnpaidMonth, 'termination ends the recorded episode');
  const lastPayBy = payByDate(t.firstUnpaidMonth, stages[stages.length - 1] as DelinquencyStage);
  check(addDays(lastPayBy, 1) === today, `terminated ${today}, the day after ${lastPayBy}`);
  if (f.subsidy === 'none') {
    const firstOwing = MONTHS.find((m) => {
      const live = f.invoices.find((i) => i.coverageMonth === m && !i.voided);
      return !live || live.amountPaidCents < live.amountDueCents;
    });
    check(firstOwing !== undefined && t.coverageEnd === addDays(firstOwing, -1), `none: coverageEnd ${t.coverageEnd}`);
  } else {
    check(t.coverageEnd === lastDayOfMonth(t.firstUnpaidMonth), `${f.subsidy}: coverageEnd ${t.coverageEnd}`);
  }
  const voids = invoicesToVoidOnTermination(f.invoices, t.coverageEnd);
  check(
    voids.invoices.every((v) => v.invoice.coverageMonth > t.coverageEnd),
    'only months after coverageEnd are voided',
  );
  sim.stats.terminated = true;
}

function simulate(subsidy: Subsidy, premium: number, plan: Behaviour[]): Sim['stats'] {
  const sim: Sim = {
    facts: {
      status: 'confirmed',
      subsidy,
      coverageStart: COVERAGE_START,
      monthlyPremiumCents: premium,
      creditCents: 0,
      invoices: [{ ...invoice(COVERAGE_START, premium), amountDueCents: premium }],
    },
    recorded: null,
    noticed: new Set(),
    stats: { terminated: false, cured: 0, stages: new Set() },
  };
  const payments = paymentsOf(plan, premium);
  for (let today = COVERAGE_START; today <= LAST_DAY; today = addDays(today, 1)) {
    // The Connector bills on the 1st of the month before coverage.
    if (today.endsWith('-01') && addMonths(today, 1) <= (MONTHS[11] as IsoDate)) billingRun(sim, addMonths(today, 1));
    if (evaluate(sim, today)) return sim.stats;
    const cents = payments.get(today);
    if (!cents) continue;
    for (const c of cents) pay(sim, c);
    if (evaluate(sim, today)) return sim.stats;
  }
  return sim.stats;
}

const j = (x: unknown) => JSON.stringify(x);

t.test('R29/R30 property: sweep with recorded state = fresh read, terminations follow R30', async (t) => {
  const seen = { terminated: new Set<Subsidy>(), cured: new Set<Subsidy>(), stages: new Set<DelinquencyStage>() };
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.constantFrom<Subsidy>('none', 'aptc', 'connectorcare'),
        fc.integer({ min: 1000, max: 90000 }),
        fc.array(behaviour, { minLength: 11, maxLength: 11 }),
        (subsidy, premium, plan) => {
          const stats = simulate(subsidy, premium, plan);
          if (stats.terminated) seen.terminated.add(subsidy);
          if (stats.cured > 0) seen.cured.add(subsidy);
          for (const s of stats.stages) seen.stages.add(s);
        },
      ),
      { numRuns: 200, seed: 20261203 },
    ),
  );
  t.same([...seen.terminated].sort(), ['aptc', 'connectorcare', 'none'], 'terminations happened for every subsidy');
  t.same([...seen.cured].sort(), ['aptc', 'connectorcare', 'none'], 'cures happened for every subsidy');
  t.same([...seen.stages].sort(), [...DELINQUENCY_STAGES].sort(), 'every stage was reached');
});

t.test('R1: the months owed carry the R1 due date across year ends (no invoice yet)', async (t) => {
  const facts: EnrollmentFacts = { ...member('2025-12-24'), coverageStart: d('2026-11-01'), invoices: [] };
  const owed = monthsOwedBy(d('2028-12-23'), facts);
  t.equal(owed.months.length, 27, 'R29: November 2026 through January 2029 (due 2028-12-23), invoiced or not');
  for (const m of owed.months) t.equal(m.dueDate, paymentDueDate(m.coverageMonth), `R1: ${m.coverageMonth}`);
  t.equal(owed.amountOwedCents, 27 * P, 'R29: uninvoiced months owe the monthly premium');
});
