import t from 'tap';
import { massachusettsCalendar } from '../../src/domain/calendar.js';
import type { EnrollmentStatus } from '../../src/domain/enrollment.js';
import {
  balanceCents,
  expectedDelivery,
  type Invoice,
  invoiceStatus,
  paymentSlip,
  projectBinder,
} from '../../src/domain/invoice.js';
import { isLuhnValid } from '../helpers/cards.js';
import { binder, invoice, PREMIUM } from '../helpers/domain.js';

// Invoice projections (R10 on reads, R15, R17, R18, R33) from SPEC.md; each row names its rule.
const VOIDED = new Date('2026-12-20T15:00:00Z');

t.test('R15/I4: status and balance are computed from the amounts', async (t) => {
  const rows: { rule: string; name: string; paid: number; voided?: boolean; status: string; balance: number }[] = [
    { rule: 'R15', name: 'nothing paid: open', paid: 0, status: 'open', balance: PREMIUM },
    { rule: 'R15', name: 'one cent paid: partially_paid', paid: 1, status: 'partially_paid', balance: PREMIUM - 1 },
    { rule: 'R15', name: 'one cent short: partially_paid', paid: PREMIUM - 1, status: 'partially_paid', balance: 1 },
    { rule: 'R15', name: 'paid exactly: paid', paid: PREMIUM, status: 'paid', balance: 0 },
    { rule: 'I4', name: 'a balance is never negative', paid: PREMIUM + 1, status: 'paid', balance: 0 },
    { rule: 'R15', name: 'void, unpaid: void, no balance', paid: 0, voided: true, status: 'void', balance: 0 },
    { rule: 'R15', name: 'void wins over partially paid', paid: 20000, voided: true, status: 'void', balance: 0 },
    { rule: 'R15', name: 'void wins over paid', paid: PREMIUM, voided: true, status: 'void', balance: 0 },
  ];
  for (const r of rows) {
    const i = { amountDueCents: PREMIUM, amountPaidCents: r.paid, voidedAt: r.voided ? VOIDED : null };
    t.equal(invoiceStatus(i), r.status, `${r.rule}: ${r.name}: status`);
    t.equal(balanceCents(i), r.balance, `${r.rule}: ${r.name}: balance`);
  }
});

t.test('R17: paperless at once; mailed 3 to 5 business days after the business date of issue', async (t) => {
  const rows: {
    rule: string;
    name: string;
    delivery: Invoice['delivery'];
    issuedAt: string;
    expect: { earliest: string; latest: string } | undefined;
  }[] = [
    {
      rule: 'R17',
      name: 'paperless: no expected delivery',
      delivery: 'paperless',
      issuedAt: '2026-12-10T15:00:00Z',
      expect: undefined,
    },
    {
      rule: 'R17',
      name: 'mailed on Thursday 2026-12-10',
      delivery: 'mail',
      issuedAt: '2026-12-10T15:00:00Z',
      expect: { earliest: '2026-12-15', latest: '2026-12-17' },
    },
    {
      rule: 'R17',
      name: 'issued 21:00 Friday in Boston (Saturday in UTC): counts from Friday, skips Christmas',
      delivery: 'mail',
      issuedAt: '2026-12-19T02:00:00Z',
      expect: { earliest: '2026-12-23', latest: '2026-12-28' },
    },
    {
      rule: 'R17',
      name: 'issued on a Saturday: counts from the Monday',
      delivery: 'mail',
      issuedAt: '2026-12-12T15:00:00Z',
      expect: { earliest: '2026-12-16', latest: '2026-12-18' },
    },
    {
      rule: 'R17',
      name: 'issued before Thanksgiving 2026',
      delivery: 'mail',
      issuedAt: '2026-11-24T15:00:00Z',
      expect: { earliest: '2026-11-30', latest: '2026-12-02' },
    },
  ];
  for (const r of rows) {
    t.same(
      expectedDelivery({ delivery: r.delivery, issuedAt: new Date(r.issuedAt) }, massachusettsCalendar),
      r.expect,
      `${r.rule}: ${r.name}`,
    );
  }
});

t.test('R18/R33: the payment slip and its scan line', async (t) => {
  const rows: { rule: string; name: string; invoiceNumber: string; amountDueCents: number }[] = [
    { rule: 'R18', name: 'a binder of 450.00', invoiceNumber: '1000000017', amountDueCents: PREMIUM },
    { rule: 'R33', name: 'an amount of one cent', invoiceNumber: '1000000025', amountDueCents: 1 },
    { rule: 'R33', name: 'a large amount', invoiceNumber: '1999999999', amountDueCents: 123456789 },
  ];
  for (const r of rows) {
    const msg = `${r.rule}: ${r.name}`;
    const slip = paymentSlip(
      { invoiceNumber: r.invoiceNumber, amountDueCents: r.amountDueCents, memberId: '100000000001' },
      { firstName: 'Maria', lastName: 'Santos' },
      'Blue Cross Blue Shield of Massachusetts',
    );
    t.match(
      slip,
      {
        payableTo: 'Health Connector',
        mailTo: { line1: 'P.O. BOX 412612', city: 'Boston', state: 'MA', postalCode: '02241-2612' },
        memberId: '100000000001',
        subscriberName: 'Maria Santos',
        carrierName: 'Blue Cross Blue Shield of Massachusetts',
        invoiceNumber: r.invoiceNumber,
        amountDueCents: r.amountDueCents,
      },
      `${msg}: R18 slip fields`,
    );
    t.match(slip.scanLine, /^\d+( \d+)*$/, `${msg}: R33 digits and single spaces only`);
    const digits = slip.scanLine.replaceAll(' ', '');
    t.ok(digits.startsWith(r.invoiceNumber), `${msg}: R33 holds the invoice number`);
    t.ok(
      digits.slice(r.invoiceNumber.length, -1).replace(/^0+/, '') === String(r.amountDueCents),
      `${msg}: R33 holds the amount due in cents`,
    );
    t.ok(isLuhnValid(digits), `${msg}: R33 a final Luhn check digit over all its digits`);
  }
});

t.test('R10 on reads: an unpaid binder follows the projected start; passed run-issued months show void', async (t) => {
  const pending = {
    status: 'pending_payment' as EnrollmentStatus,
    coverageStart: '2027-01-01' as Invoice['coverageMonth'],
  };
  const rows: {
    rule: string;
    name: string;
    invoice: Invoice;
    enrollment?: { status: EnrollmentStatus; coverageStart: Invoice['coverageMonth'] };
    now: string;
    expect: { coverageMonth: string; dueDate: string; status: string };
  }[] = [
    {
      rule: 'R10',
      name: 'before the due date the binder is as stored',
      invoice: binder(),
      now: '2026-12-20T15:00:00Z',
      expect: { coverageMonth: '2027-01-01', dueDate: '2026-12-23', status: 'open' },
    },
    {
      rule: 'R10',
      name: 'after the due date, sweep pending: the binder shows February, due 2027-01-23',
      invoice: binder({ amountPaidCents: 20000 }),
      now: '2026-12-28T15:00:00Z',
      expect: { coverageMonth: '2027-02-01', dueDate: '2027-01-23', status: 'partially_paid' },
    },
    {
      rule: 'I1',
      name: "February's regular invoice shows void once the binder moves into February",
      invoice: invoice('inv_f', '2027-02-01'),
      now: '2026-12-28T15:00:00Z',
      expect: { coverageMonth: '2027-02-01', dueDate: '2027-01-23', status: 'void' },
    },
    {
      rule: 'R10',
      name: "March's regular invoice stands while the start is February",
      invoice: invoice('inv_m', '2027-03-01'),
      now: '2026-12-28T15:00:00Z',
      expect: { coverageMonth: '2027-03-01', dueDate: '2027-02-23', status: 'open' },
    },
    {
      rule: 'R10',
      name: 'a paid binder (awaiting_confirmation) never moves on read',
      invoice: binder({ amountPaidCents: PREMIUM }),
      enrollment: { status: 'awaiting_confirmation', coverageStart: '2027-01-01' as Invoice['coverageMonth'] },
      now: '2027-02-10T15:00:00Z',
      expect: { coverageMonth: '2027-01-01', dueDate: '2026-12-23', status: 'paid' },
    },
    {
      rule: 'R13',
      name: 'a voided binder (cancelled enrollment) is shown as stored',
      invoice: binder({ voidedAt: VOIDED }),
      enrollment: { status: 'cancelled', coverageStart: '2027-01-01' as Invoice['coverageMonth'] },
      now: '2027-02-10T15:00:00Z',
      expect: { coverageMonth: '2027-01-01', dueDate: '2026-12-23', status: 'void' },
    },
  ];
  for (const r of rows) {
    const p = projectBinder(r.invoice, r.enrollment ?? pending, new Date(r.now));
    t.same(
      { coverageMonth: p.coverageMonth, dueDate: p.dueDate, status: invoiceStatus(p) },
      r.expect,
      `${r.rule}: ${r.name}`,
    );
  }
});
