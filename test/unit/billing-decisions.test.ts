import t from 'tap';
import {
  type BillableEnrollment,
  binderInvoice,
  creditFirst,
  deliveryFor,
  isBilledFor,
  monthlyInvoice,
  monthlyInvoices,
} from '../../src/domain/billing.js';
import { massachusettsCalendar } from '../../src/domain/calendar.js';
import type { IsoDate } from '../../src/domain/dates.js';
import type { EnrollmentStatus } from '../../src/domain/enrollment.js';
import {
  balanceCents,
  expectedDelivery,
  hasBalance,
  type Invoice,
  type InvoiceStatus,
  invoiceStatus,
  owesMoney,
} from '../../src/domain/invoice.js';

const month = '2027-02-01' as IsoDate;
const enrollment = (over: Partial<BillableEnrollment> = {}): BillableEnrollment => ({
  id: 'enr_1',
  memberId: '100000000001',
  carrierId: 'bcbsma',
  status: 'confirmed',
  coverageStart: '2027-01-01' as IsoDate,
  monthlyPremiumCents: 30000,
  creditCents: 0,
  paperless: false,
  coverageEnd: null,
  ...over,
});

t.test('R16: credit is applied to a new invoice first, up to its amount due', async (t) => {
  const rows: [string, number, number, number][] = [
    ['R16: no credit, nothing applied', 0, 30000, 0],
    ['R16: credit below the amount due is all applied', 10000, 30000, 10000],
    ['R16: credit equal to the amount due pays it in full', 30000, 30000, 30000],
    ['R16: credit above the amount due stops at it (the rest stays credit)', 45000, 30000, 30000],
    ['R16: negative credit (never stored) applies nothing', -5, 30000, 0],
  ];
  for (const [name, credit, due, applied] of rows) t.equal(creditFirst(credit, due), applied, name);
});

t.test('R17: paperless accounts see the invoice; others are mailed', async (t) => {
  const rows: [string, boolean, 'paperless' | 'mail'][] = [
    ['R17: paperless', true, 'paperless'],
    ['R17: not paperless: mailed', false, 'mail'],
  ];
  for (const [name, paperless, delivery] of rows) t.equal(deliveryFor(paperless), delivery, name);
});

t.test('R7: the binder invoice a checkout creates', async (t) => {
  const rows: [string, string, boolean, { coverageMonth: string; dueDate: string; delivery: string }][] = [
    [
      'R7/R1: January start, due December 23rd, mailed',
      '2027-01-01',
      false,
      { coverageMonth: '2027-01-01', dueDate: '2026-12-23', delivery: 'mail' },
    ],
    [
      'R7/R17: paperless',
      '2027-03-01',
      true,
      { coverageMonth: '2027-03-01', dueDate: '2027-02-23', delivery: 'paperless' },
    ],
  ];
  for (const [name, start, paperless, want] of rows) {
    t.same(
      binderInvoice({ monthlyPremiumCents: 41200, coverageStart: start as IsoDate }, paperless),
      { ...want, amountDueCents: 41200 },
      name,
    );
  }
});

t.test('R16: which enrollments a run bills for a month', async (t) => {
  const rows: [string, EnrollmentStatus, string, boolean][] = [
    ['R16: confirmed, started before the month', 'confirmed', '2027-01-01', true],
    ['R16: awaiting confirmation, starting that month', 'awaiting_confirmation', '2027-02-01', true],
    ['R16: confirmed, starting after the month: not yet', 'confirmed', '2027-03-01', false],
    ['R16/R9: pending payment: the binder is its first invoice', 'pending_payment', '2027-01-01', false],
    ['R16/I2: cancelled: never', 'cancelled', '2027-01-01', false],
  ];
  for (const [name, status, start, billed] of rows) {
    t.equal(isBilledFor({ status, coverageStart: start as IsoDate }, month), billed, name);
  }
});

t.test('R16/R17/R1: the invoice a run issues for one enrollment', async (t) => {
  const rows: [string, Partial<BillableEnrollment>, { creditAppliedCents: number; delivery: string }][] = [
    ['R16/R17: no credit, mailed', {}, { creditAppliedCents: 0, delivery: 'mail' }],
    [
      'R16/R17: part credit, paperless',
      { creditCents: 1200, paperless: true },
      { creditAppliedCents: 1200, delivery: 'paperless' },
    ],
    ['R16: credit beyond the premium', { creditCents: 99999 }, { creditAppliedCents: 30000, delivery: 'mail' }],
  ];
  for (const [name, over, want] of rows) {
    const i = monthlyInvoice(enrollment(over), month);
    t.match(
      i,
      {
        enrollmentId: 'enr_1',
        memberId: '100000000001',
        carrierId: 'bcbsma',
        coverageMonth: month,
        dueDate: '2027-01-23', // R1: the 23rd of the month before
        amountDueCents: 30000,
        ...want,
      },
      name,
    );
  }
  const chunk = [
    enrollment({ id: 'a' }),
    enrollment({ id: 'b', status: 'cancelled' }),
    enrollment({ id: 'c', coverageStart: '2027-05-01' as IsoDate }),
    enrollment({ id: 'd', status: 'awaiting_confirmation', creditCents: 500 }),
  ];
  t.same(
    monthlyInvoices(chunk, month).map((i) => [i.enrollmentId, i.creditAppliedCents]),
    [
      ['a', 0],
      ['d', 500],
    ],
    'R16: a chunk issues only for the enrollments billed that month',
  );
});

type Sums = Pick<Invoice, 'amountDueCents' | 'amountPaidCents' | 'voidedAt'>;
const sums = (due: number, paid: number, voided = false): Sums => ({
  amountDueCents: due,
  amountPaidCents: paid,
  voidedAt: voided ? new Date('2027-01-10T12:00:00Z') : null,
});

t.test('R15: status, balance and "owes money" of one invoice', async (t) => {
  const rows: [string, Sums, InvoiceStatus, number][] = [
    ['R15: nothing paid: open, the whole amount owed', sums(30000, 0), 'open', 30000],
    ['R9/R15: partly paid: partially_paid', sums(30000, 100), 'partially_paid', 29900],
    ['R15: paid in full: paid, nothing owed', sums(30000, 30000), 'paid', 0],
    ['I4: paid above the amount: paid, the balance never below 0', sums(30000, 30500), 'paid', 0],
    ['R13: void: nothing owed, whatever was paid', sums(30000, 100, true), 'void', 0],
  ];
  for (const [name, i, status, balance] of rows) {
    t.equal(invoiceStatus(i), status, `${name} (status)`);
    t.equal(balanceCents(i), balance, `${name} (balance)`);
    t.equal(hasBalance(i), status === 'open' || status === 'partially_paid', `${name} (has a balance)`);
  }
});

t.test('R21/R22: an enrollment owes money when one of its invoices has a balance', async (t) => {
  const rows: [string, Sums[], boolean][] = [
    ['R21: no invoices', [], false],
    ['R21: all paid', [sums(30000, 30000), sums(30000, 30000)], false],
    ['R21: one partially paid', [sums(30000, 30000), sums(30000, 1)], true],
    ['R13: only void invoices', [sums(30000, 0, true)], false],
    ['R22: one open', [sums(30000, 0)], true],
  ];
  for (const [name, invoices, owes] of rows) t.equal(owesMoney(invoices), owes, name);
});

t.test('R17: a mailed invoice arrives 3 to 5 business days after the business date of issue', async (t) => {
  const rows: [string, 'mail' | 'paperless', string, { earliest: string; latest: string } | undefined][] = [
    ['R17: paperless: no delivery window', 'paperless', '2026-12-10T15:00:00Z', undefined],
    // Thursday 2026-12-10: +3 is Tuesday 12-15, +5 Thursday 12-17 (R4).
    ['R17/R4: mailed on a Thursday', 'mail', '2026-12-10T15:00:00Z', { earliest: '2026-12-15', latest: '2026-12-17' }],
    // 03:00Z on 12-11 is still 12-10 in Boston: the business date decides.
    [
      'R17: the business date of issue, in Boston',
      'mail',
      '2026-12-11T03:00:00Z',
      { earliest: '2026-12-15', latest: '2026-12-17' },
    ],
  ];
  for (const [name, delivery, issuedAt, want] of rows) {
    t.same(expectedDelivery({ delivery, issuedAt: new Date(issuedAt) }, massachusettsCalendar), want, name);
  }
});
