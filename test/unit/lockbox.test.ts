import t from 'tap';
import { massachusettsCalendar } from '../../src/domain/calendar.js';
import type { IsoDate } from '../../src/domain/dates.js';
import { DomainError } from '../../src/domain/errors.js';
import {
  checkDeposit,
  depositReceipt,
  type LockboxDeposit,
  type LockboxItem,
  planItem,
  type ScanLineInvoice,
} from '../../src/domain/lockbox.js';
import { luhnDigit } from '../helpers/cards.js';

// R22, R23, R33, R34: what the deposit as a whole may be, and what each item is, before its money is
// decided. One row per rule case. Scan lines are built here, independently of src/.
const scan = (invoiceNumber: string, cents: number, digitOffset = 0) => {
  const amount = String(cents).padStart(11, '0');
  return `${invoiceNumber} ${amount} ${(luhnDigit(invoiceNumber + amount) + digitOffset) % 10}`;
};
const invoices = new Map<string, ScanLineInvoice>([
  ['1000000017', { invoiceNumber: '1000000017', amountDueCents: 45000 }],
]);
const remittance = { memberId: '100200300400', firstName: 'Maria', lastName: 'Santos', carrierName: 'Harbor' };
const item = (over: Partial<LockboxItem> = {}): LockboxItem => ({
  sequence: 1,
  method: 'check',
  amountCents: 45000,
  checkNumber: '1',
  payableTo: 'Health Connector',
  ...over,
});
const at = new Date('2026-12-10T15:00:00Z');

const plans: {
  rule: string;
  name: string;
  item: LockboxItem;
  expected: { kind: string; target?: string | null; matchedBy?: string | null; notes: string[] };
}[] = [
  {
    rule: 'R33',
    name: 'a valid scan line for the amount due names its invoice',
    item: item({ scanLine: scan('1000000017', 45000) }),
    expected: { kind: 'record', target: 'invoice', matchedBy: 'scan_line', notes: [] },
  },
  {
    rule: 'R33',
    name: 'a failing check digit never matches; the remittance does',
    item: item({ scanLine: scan('1000000017', 45000, 1), remittance }),
    expected: { kind: 'record', target: 'remittance', matchedBy: 'remittance', notes: ['scan_line_check_digit'] },
  },
  {
    rule: 'R33',
    name: 'an amount other than the amount due never matches',
    item: item({ scanLine: scan('1000000017', 40000) }),
    expected: {
      kind: 'record',
      target: null,
      matchedBy: null,
      notes: ['scan_line_amount_mismatch', 'nothing_to_match'],
    },
  },
  {
    rule: 'R33',
    name: 'a scan line of an unknown invoice',
    item: item({ scanLine: scan('1000000024', 45000) }),
    expected: {
      kind: 'record',
      target: null,
      matchedBy: null,
      notes: ['scan_line_invoice_not_found', 'nothing_to_match'],
    },
  },
  {
    rule: 'R33',
    name: 'a scan line without our layout',
    item: item({ scanLine: '1000000017 45000' }),
    expected: { kind: 'record', target: null, matchedBy: null, notes: ['scan_line_unreadable', 'nothing_to_match'] },
  },
  {
    rule: 'R22',
    name: 'a remittance without the carrier is kept unapplied (R23), not refused',
    item: item({ remittance: { ...remittance, carrierName: undefined } }),
    expected: { kind: 'record', target: null, matchedBy: null, notes: ['remittance_incomplete'] },
  },
  {
    rule: 'R22',
    name: 'payable to someone else: returned to the sender, whatever it carries',
    item: item({ payableTo: 'Massachusetts Health Connector', scanLine: scan('1000000017', 45000) }),
    expected: { kind: 'return', notes: ['payee_mismatch'] },
  },
  {
    rule: 'R22',
    name: 'the payee compares by name key (case, spaces, full-width letters)',
    item: item({ payableTo: ' ＨＥＡＬＴＨ   connector ', remittance }),
    expected: { kind: 'record', target: 'remittance', matchedBy: 'remittance', notes: [] },
  },
];

t.test('planItem: each item is returned, or a mail payment naming what it can be matched by', async (t) => {
  for (const row of plans) {
    const plan = planItem(row.item, at, invoices);
    const got =
      plan.kind === 'return'
        ? { kind: plan.kind, notes: plan.notes }
        : { kind: plan.kind, target: plan.target?.kind ?? null, matchedBy: plan.matchedBy, notes: plan.notes };
    t.strictSame(got, row.expected, `${row.rule}: ${row.name}`);
    if (plan.kind === 'record') {
      t.equal(plan.request.channel, 'mail', `${row.rule}: ${row.name}: a mail payment`);
      t.equal(plan.request.receivedAt, at, `${row.rule}: ${row.name}: received on the deposit date`);
    }
  }
});

const deposit = (items: LockboxItem[], control = { itemCount: items.length, totalCents: 0 }): LockboxDeposit => ({
  depositId: 'LBX-1',
  depositDate: '2026-12-10' as IsoDate,
  items,
  control: control.totalCents ? control : { ...control, totalCents: items.reduce((s, i) => s + i.amountCents, 0) },
});
const codeOf = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (err) {
    return err instanceof DomainError ? err.code : 'not a DomainError';
  }
};

t.test('checkDeposit: control totals first, then sequences, then each item’s details', async (t) => {
  const two = [item(), item({ sequence: 2, amountCents: 100 })];
  const rows: [string, LockboxDeposit, string | null][] = [
    ['R34: totals that agree', deposit(two), null],
    [
      'R34: one item too many in the control',
      deposit(two, { itemCount: 3, totalCents: 45100 }),
      'control_total_mismatch',
    ],
    ['R34: a total one cent off', deposit(two, { itemCount: 2, totalCents: 45101 }), 'control_total_mismatch'],
    [
      'R34: the control is checked before the sequences',
      deposit([item(), item()], { itemCount: 3, totalCents: 90000 }),
      'control_total_mismatch',
    ],
    ['R34: a sequence number twice', deposit([item(), item()]), 'duplicate_sequence'],
    ['R20: a check without its number', deposit([item({ checkNumber: undefined })]), 'payment_details_required'],
    [
      'R20: a money order with a check number',
      deposit([item({ method: 'money_order', serialNumber: 'MO-1' })]),
      'payment_details_mismatch',
    ],
    [
      'R20: a money order with its serial number',
      deposit([item({ method: 'money_order', checkNumber: undefined, serialNumber: 'MO-1' })]),
      null,
    ],
  ];
  for (const [name, d, code] of rows)
    t.equal(
      codeOf(() => checkDeposit(d)),
      code,
      name,
    );
});

t.test('depositReceipt: R2 receipt on the deposit date, within the mail window', async (t) => {
  const now = new Date('2026-12-24T14:00:00Z'); // 09:00 in Boston
  const cal = massachusettsCalendar;
  t.equal(depositReceipt('2026-12-24' as IsoDate, now, cal).toISOString(), now.toISOString(), 'today: now');
  t.equal(
    depositReceipt('2026-12-23' as IsoDate, now, cal).toISOString(),
    '2026-12-24T04:59:59.999Z',
    'an earlier date: its last instant in New York',
  );
  t.equal(
    codeOf(() => depositReceipt('2026-12-25' as IsoDate, now, cal)),
    'timestamp_in_future',
    'never ahead',
  );
  t.equal(
    codeOf(() => depositReceipt('2026-12-10' as IsoDate, now, cal)),
    null,
    '10 business days back',
  );
  t.equal(
    codeOf(() => depositReceipt('2026-12-09' as IsoDate, now, cal)),
    'timestamp_out_of_range',
    '11 back',
  );
});
