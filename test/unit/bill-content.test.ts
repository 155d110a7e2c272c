import t from 'tap';
import { billContent, formatDollars, longDate, monthName } from '../../src/domain/bill.js';
import type { IsoDate } from '../../src/domain/dates.js';
import type { InvoiceDetail } from '../../src/domain/invoice.js';
import { luhnDigit } from '../helpers/cards.js';

// R32: what the bill says, decided from the invoice (as the JSON read shows it), the plan and the
// mailing address. One row per case; the renderer only places these strings.
const d = (s: string) => s as IsoDate;
const invoice = (over: Partial<InvoiceDetail> = {}): InvoiceDetail => ({
  id: 'inv_1',
  invoiceNumber: '1000000008',
  enrollmentId: 'enr_1',
  memberId: '100200300400',
  coverageMonth: d('2027-01-01'),
  dueDate: d('2026-12-23'),
  amountDueCents: 45012,
  amountPaidCents: 0,
  creditAppliedCents: 0,
  isBinder: true,
  delivery: 'mail',
  issuedAt: new Date('2026-12-10T15:00:00Z'),
  voidedAt: null,
  subscriber: { firstName: 'Ana', lastName: 'Ferreira' },
  carrierId: 'harbor',
  carrierName: 'Harbor Health Plan',
  enrollment: { status: 'pending_payment', coverageStart: d('2027-01-01') },
  ...over,
});
const plan = { planName: 'Harbor Silver 2000', coverageType: 'health' as const };
const address = { line1: '77 Harbor Street', city: 'Worcester', state: 'MA', postalCode: '01608' };

t.test('R32: dollars, dates and months as a person reads them', async (t) => {
  const dollars: [number, string][] = [
    [0, '$0.00'],
    [1, '$0.01'],
    [45012, '$450.12'],
    [100000, '$1,000.00'],
    [123456789, '$1,234,567.89'],
    [-2500, '-$25.00'],
  ];
  for (const [cents, text] of dollars) t.equal(formatDollars(cents), text, `${cents} cents`);
  t.throws(() => formatDollars(1.5), 'cents are integers');
  t.equal(longDate(d('2026-12-23')), 'December 23, 2026');
  t.equal(longDate(d('2027-01-01')), 'January 1, 2027');
  t.equal(monthName(d('2027-02-01')), 'February 2027');
});

t.test('R32: the bill of each kind of invoice', async (t) => {
  const rows: { name: string; invoice: InvoiceDetail; expect: Record<string, unknown> }[] = [
    {
      name: 'an open binder: the warning, the whole premium due',
      invoice: invoice(),
      expect: { void: false, status: 'open', balance: '$450.12', amountDue: '$450.12', binder: true },
    },
    {
      name: 'a partially paid binder: paid and balance',
      invoice: invoice({ amountPaidCents: 10000 }),
      expect: { void: false, status: 'partially_paid', balance: '$350.12', paid: '$100.00', binder: true },
    },
    {
      name: 'a regular month: no warning',
      invoice: invoice({ isBinder: false, coverageMonth: d('2027-02-01'), dueDate: d('2027-01-23') }),
      expect: { void: false, status: 'open', binder: false, month: 'February 2027', due: 'January 23, 2027' },
    },
    {
      name: 'a void invoice: stamped, nothing owed',
      invoice: invoice({ voidedAt: new Date('2026-12-11T15:00:00Z') }),
      expect: { void: true, status: 'void', balance: '$0.00', amountDue: '$450.12' },
    },
    {
      name: 'paid in full',
      invoice: invoice({ amountPaidCents: 45012 }),
      expect: { void: false, status: 'paid', balance: '$0.00' },
    },
  ];
  for (const row of rows) {
    const c = billContent(row.invoice, plan, address);
    const e = row.expect;
    t.equal(c.void, e.void, `${row.name}: void`);
    t.equal(c.status, e.status, `${row.name}: status`);
    if (e.balance) t.equal(c.balance, e.balance, `${row.name}: balance`);
    if (e.amountDue) t.equal(c.coupon.amountDue, e.amountDue, `${row.name}: the coupon's amount due`);
    if (e.paid)
      t.same(c.amounts[1], { label: 'Amount paid (payments and credits)', value: e.paid }, `${row.name}: paid`);
    if (e.binder !== undefined) t.equal(c.binderWarning !== null, e.binder, `${row.name}: binder warning`);
    if (e.month) t.equal(c.coverageMonth, e.month, `${row.name}: month`);
    if (e.due) t.equal(c.coupon.dueDate, e.due, `${row.name}: due date`);
  }
});

t.test('R32: the fixed parts: sender, address, channels, coupon, scan line (R33)', async (t) => {
  const c = billContent(invoice(), plan, { ...address, line2: 'Apt 4B' });
  t.same(c.addressee, ['Ana Ferreira', '77 Harbor Street', 'Apt 4B', 'Worcester, MA 01608']);
  t.same(billContent(invoice(), plan, address).addressee, ['Ana Ferreira', '77 Harbor Street', 'Worcester, MA 01608']);
  t.equal(c.sender.name, 'Health Connector');
  t.same(
    c.howToPay.map((p) => p.title),
    ['Pay online', 'Pay by phone', 'Pay by mail'],
  );
  const all = c.howToPay.flatMap((p) => p.lines).join(' ');
  for (const s of [
    'guest payment',
    '1-877-623-6765',
    'TTY 1-877-623-7773',
    'checking or savings account only',
    '"Health Connector"',
  ]) {
    t.ok(all.includes(s), `how to pay: ${s}`);
  }
  t.match(
    c.binderWarning?.text,
    /not be enrolled in your health or dental plan until you pay the first month’s premium in full by the due date/,
  );
  t.same(c.coupon.mailTo, ['Health Connector', 'P.O. BOX 412612', 'Boston, MA 02241-2612']);
  t.equal(c.coupon.payableTo, 'Health Connector');
  t.equal(c.coupon.scanLine, `1000000008 00000045012 ${luhnDigit('100000000800000045012')}`);
  t.same([c.coverage, c.carrierName, c.planName], ['Health', 'Harbor Health Plan', 'Harbor Silver 2000']);
  t.same([c.createdAt, c.modifiedAt], [new Date('2026-12-10T15:00:00Z'), new Date('2026-12-10T15:00:00Z')]);
  const voided = billContent(invoice({ voidedAt: new Date('2026-12-11T15:00:00Z') }), plan, address);
  t.same(voided.modifiedAt, new Date('2026-12-11T15:00:00Z'), 'a void bill is modified when voided');
  t.same(billContent(invoice(), plan, address), billContent(invoice(), plan, address), 'the same state, the same bill');
});
