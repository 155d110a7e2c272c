import t from 'tap';
import { type MatchDecision, type MatchFacts, matchPayment } from '../../src/domain/matching.js';
import type { RemittanceCandidate } from '../../src/domain/payment.js';
import { luhnDigit } from '../helpers/cards.js';

// R21-R23 (and R24 for void invoices and cancelled enrollments): which enrollment a payment pays,
// from the facts the store read. One row per rule case; `mail` is the payment's channel.
const account = { memberId: '100000000001', firstName: 'Ana', lastName: 'Silva' };
const remittance = (over: Partial<typeof account> = {}) => ({ ...account, ...over });
const owing = (id: string): RemittanceCandidate => ({ id, owes: true, cancelled: false });
const paidUp = (id: string): RemittanceCandidate => ({ id, owes: false, cancelled: false });
const pay = (enrollmentId: string, onlyInvoiceId?: string): MatchDecision =>
  onlyInvoiceId ? { kind: 'pay', enrollmentId, onlyInvoiceId } : { kind: 'pay', enrollmentId };
const unapplied = (memberId: string | null): MatchDecision => ({ kind: 'unapplied', memberId });
const invoice1 = { id: 'inv_1', memberId: 'm', invoiceNumber: '1000000008', amountDueCents: 45012 };
/** R33's scan line, its check digit re-derived here (test/helpers/cards.ts), not taken from src/. */
const scan = (invoiceNumber: string, cents: number) => {
  const amount = String(cents).padStart(11, '0');
  return `${invoiceNumber} ${amount} ${luhnDigit(invoiceNumber + amount)}`;
};
/** The same scan line with its check digit one off. */
const misread = (line: string) => line.replace(/\d$/, (d) => String((Number(d) + 1) % 10));

const rows: { rule: string; name: string; facts: MatchFacts; mail: boolean; expected: MatchDecision }[] = [
  {
    rule: 'R21',
    name: 'an invoice number pays that invoice only',
    facts: { kind: 'invoice', invoiceNumber: '1001', invoice: { id: 'inv_1', memberId: 'm' }, enrollmentId: 'enr_1' },
    mail: false,
    expected: pay('enr_1', 'inv_1'),
  },
  {
    rule: 'R22',
    name: 'a mail slip pays its invoice only',
    facts: { kind: 'invoice', invoiceNumber: '1001', invoice: { id: 'inv_1', memberId: 'm' }, enrollmentId: 'enr_1' },
    mail: true,
    expected: pay('enr_1', 'inv_1'),
  },
  {
    rule: 'R23',
    name: 'an unknown invoice number online is refused',
    facts: { kind: 'invoice', invoiceNumber: '1001', invoice: null, enrollmentId: null },
    mail: false,
    expected: { kind: 'refuse', code: 'target_not_found', detail: 'No invoice 1001.' },
  },
  {
    rule: 'R23',
    name: 'an unknown slip by mail is kept unapplied, no member',
    facts: { kind: 'invoice', invoiceNumber: '1001', invoice: null, enrollmentId: null },
    mail: true,
    expected: unapplied(null),
  },
  {
    rule: 'R23',
    name: "a slip whose enrollment is gone is kept unapplied with the invoice's member",
    facts: { kind: 'invoice', invoiceNumber: '1001', invoice: { id: 'inv_1', memberId: 'm' }, enrollmentId: null },
    mail: true,
    expected: unapplied('m'),
  },
  {
    rule: 'R21',
    name: 'an enrollment ID pays that enrollment (R24: cancelled or not)',
    facts: { kind: 'enrollment', enrollmentId: 'enr_1', found: true },
    mail: false,
    expected: pay('enr_1'),
  },
  {
    rule: 'R23',
    name: 'an unknown enrollment online is refused',
    facts: { kind: 'enrollment', enrollmentId: 'enr_x', found: false },
    mail: false,
    expected: { kind: 'refuse', code: 'target_not_found', detail: 'No enrollment enr_x.' },
  },
  {
    rule: 'R21',
    name: 'a phone number of one account pays its one owing enrollment',
    facts: { kind: 'phone', accounts: ['m'], owing: ['enr_1'] },
    mail: false,
    expected: pay('enr_1'),
  },
  {
    rule: 'R21',
    name: 'a phone number on no account is refused',
    facts: { kind: 'phone', accounts: [], owing: [] },
    mail: false,
    expected: { kind: 'refuse', code: 'target_not_found', detail: 'No account has this phone number.' },
  },
  {
    rule: 'R21',
    name: 'a phone number on several accounts is ambiguous',
    facts: { kind: 'phone', accounts: ['m1', 'm2'], owing: [] },
    mail: false,
    expected: {
      kind: 'refuse',
      code: 'target_ambiguous',
      detail: 'Several accounts have this phone number; give the Member ID.',
    },
  },
  {
    rule: 'R21',
    name: 'a Member ID pays the one enrollment with a balance',
    facts: { kind: 'member', memberId: 'm', accountFound: true, owing: ['enr_2'] },
    mail: false,
    expected: pay('enr_2'),
  },
  {
    rule: 'R21',
    name: 'an unknown Member ID is refused',
    facts: { kind: 'member', memberId: 'm', accountFound: false, owing: [] },
    mail: false,
    expected: { kind: 'refuse', code: 'target_not_found', detail: 'No account for member m.' },
  },
  {
    rule: 'R21',
    name: 'a member with nothing owing is refused',
    facts: { kind: 'member', memberId: 'm', accountFound: true, owing: [] },
    mail: false,
    expected: { kind: 'refuse', code: 'target_not_found', detail: 'The account has no enrollment with a balance.' },
  },
  {
    rule: 'R21',
    name: 'a member with two enrollments owing is ambiguous, naming them',
    facts: { kind: 'member', memberId: 'm', accountFound: true, owing: ['enr_1', 'enr_2'] },
    mail: false,
    expected: {
      kind: 'refuse',
      code: 'target_ambiguous',
      detail: 'The account has several enrollments with a balance; name the invoice number or enrollment.',
      extra: { enrollmentIds: ['enr_1', 'enr_2'] },
    },
  },
  {
    rule: 'R22',
    name: "a remittance whose names match pays the carrier's owing enrollment",
    facts: { kind: 'remittance', remittance: remittance(), account, candidates: [owing('enr_1'), paidUp('enr_2')] },
    mail: true,
    expected: pay('enr_1'),
  },
  {
    rule: 'R22',
    name: 'names are compared without case or extra spaces',
    facts: {
      kind: 'remittance',
      remittance: remittance({ firstName: ' ANA ', lastName: 'silva' }),
      account,
      candidates: [owing('enr_1')],
    },
    mail: true,
    expected: pay('enr_1'),
  },
  {
    rule: 'R23',
    name: 'a remittance with an unknown Member ID is kept unapplied, no member',
    facts: { kind: 'remittance', remittance: remittance(), account: null, candidates: [] },
    mail: true,
    expected: unapplied(null),
  },
  {
    rule: 'R23',
    name: "a remittance whose last name does not match is kept unapplied with the account's member",
    facts: { kind: 'remittance', remittance: remittance({ lastName: 'Souza' }), account, candidates: [owing('enr_1')] },
    mail: true,
    expected: unapplied(account.memberId),
  },
  {
    rule: 'R23',
    name: 'a remittance naming a carrier with two owing enrollments is kept unapplied',
    facts: { kind: 'remittance', remittance: remittance(), account, candidates: [owing('enr_1'), owing('enr_2')] },
    mail: true,
    expected: unapplied(account.memberId),
  },
  {
    rule: 'R23',
    name: 'a remittance naming a carrier of none of the enrollments is kept unapplied',
    facts: { kind: 'remittance', remittance: remittance(), account, candidates: [] },
    mail: true,
    expected: unapplied(account.memberId),
  },
  // R33: a scan line matches only when its check digit holds and its amount is the invoice's amount
  // due; otherwise the mail is kept unapplied (R23), even when an invoice has that number.
  {
    rule: 'R33',
    name: "a scan line that checks, with the invoice's amount due, pays that invoice only",
    facts: { kind: 'scanLine', scanLine: scan('1000000008', 45012), invoice: invoice1, enrollmentId: 'enr_1' },
    mail: true,
    expected: pay('enr_1', 'inv_1'),
  },
  {
    rule: 'R33',
    name: 'a scan line whose check digit fails is kept unapplied, whatever invoice has its number',
    facts: { kind: 'scanLine', scanLine: misread(scan('1000000008', 45012)), invoice: invoice1, enrollmentId: 'enr_1' },
    mail: true,
    expected: unapplied(null),
  },
  {
    rule: 'R33',
    name: "a scan line whose amount is not the invoice's amount due is kept unapplied with the member",
    facts: { kind: 'scanLine', scanLine: scan('1000000008', 45000), invoice: invoice1, enrollmentId: 'enr_1' },
    mail: true,
    expected: unapplied('m'),
  },
  {
    rule: 'R33',
    name: 'a scan line for a larger amount than the invoice is kept unapplied too',
    facts: { kind: 'scanLine', scanLine: scan('1000000008', 45013), invoice: invoice1, enrollmentId: 'enr_1' },
    mail: true,
    expected: unapplied('m'),
  },
  {
    rule: 'R23',
    name: 'a scan line that checks but names no invoice is kept unapplied, no member',
    facts: { kind: 'scanLine', scanLine: scan('1000000008', 45012), invoice: null, enrollmentId: null },
    mail: true,
    expected: unapplied(null),
  },
  {
    rule: 'R33',
    name: 'a scan line that is not digits and single spaces is kept unapplied',
    facts: {
      kind: 'scanLine',
      scanLine: scan('1000000008', 45012).replace(' ', '  '),
      invoice: invoice1,
      enrollmentId: 'enr_1',
    },
    mail: true,
    expected: unapplied(null),
  },
  {
    rule: 'R33',
    name: 'a scan line is never matched to an invoice of another number',
    facts: {
      kind: 'scanLine',
      scanLine: scan('1000000016', 45012),
      invoice: invoice1,
      enrollmentId: 'enr_1',
    },
    mail: true,
    expected: unapplied(null),
  },
];

for (const row of rows) {
  t.same(matchPayment(row.facts, { mail: row.mail }), row.expected, `${row.rule}: ${row.name}`);
}
