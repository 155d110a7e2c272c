import t from 'tap';
import type { DomainError } from '../../src/domain/errors.js';
import {
  type PaymentRequest,
  paymentTarget,
  pickRemittanceEnrollment,
  type RemittanceCandidate,
} from '../../src/domain/payment.js';

// R22/R24: the enrollment a mail payment without a slip pays, among the member's enrollments with the
// carrier named on the check. One row per case.
const owing = (id: string): RemittanceCandidate => ({ id, owes: true, cancelled: false });
const paid = (id: string): RemittanceCandidate => ({ id, owes: false, cancelled: false });
const cancelled = (id: string): RemittanceCandidate => ({ id, owes: false, cancelled: true });

const rows: [string, RemittanceCandidate[], string | null][] = [
  ['R22: none with that carrier: unapplied (R23)', [], null],
  ['R22: the one that owes money', [owing('a'), paid('b')], 'a'],
  ['R22: two that owe money: ambiguous', [owing('a'), owing('b')], null],
  ['R24: one active, paid up: its credit', [paid('a')], 'a'],
  ['R24: an active one is preferred over a cancelled one', [cancelled('a'), paid('b')], 'b'],
  ['R24: only a cancelled one: its credit', [cancelled('a')], 'a'],
  ['R22: two active, none owing: ambiguous', [paid('a'), paid('b')], null],
  ['R22: two cancelled: ambiguous', [cancelled('a'), cancelled('b')], null],
  ['R22: owing wins over a cancelled one', [cancelled('a'), owing('b')], 'b'],
];
for (const [name, candidates, expected] of rows) {
  t.equal(pickRemittanceEnrollment(candidates), expected, name);
}

// More rows in the { rule, name } form: candidates in any order, and three at once.
const moreRows: { rule: string; name: string; candidates: RemittanceCandidate[]; expect: string | null }[] = [
  {
    rule: 'R22',
    name: 'the order of the candidates does not matter (owing last)',
    candidates: [paid('a'), cancelled('b'), owing('c')],
    expect: 'c',
  },
  {
    rule: 'R24',
    name: 'one active among cancelled ones, in any order',
    candidates: [cancelled('a'), cancelled('b'), paid('c')],
    expect: 'c',
  },
  {
    rule: 'R23',
    name: 'two owing among others: ambiguous, unapplied for ops',
    candidates: [owing('a'), paid('b'), owing('c')],
    expect: null,
  },
  {
    rule: 'R24',
    name: "never another enrollment's debt: an owing one is picked, a paid one is not",
    candidates: [paid('new'), owing('old')],
    expect: 'old',
  },
];
for (const r of moreRows) t.equal(pickRemittanceEnrollment(r.candidates), r.expect, `${r.rule}: ${r.name}`);

// R22: the remittance details a mail payment without a slip must carry.
const mail = (over: Partial<PaymentRequest>): PaymentRequest => ({
  channel: 'mail',
  method: 'check',
  amountCents: 45000,
  check: { checkNumber: '1042', payableTo: 'Health Connector' },
  ...over,
});
const full = { memberId: '100000000001', firstName: 'Maria', lastName: 'Santos', carrierName: 'BCBS' };
const targetRows: {
  rule: string;
  name: string;
  req: PaymentRequest;
  expect: Record<string, unknown> | { missing: string[] };
}[] = [
  {
    rule: 'R22',
    name: 'a slip names its invoice',
    req: mail({ slip: { invoiceNumber: '1000000017' } }),
    expect: { kind: 'invoice', invoiceNumber: '1000000017' },
  },
  {
    rule: 'R22',
    name: 'full remittance details',
    req: mail({ remittance: full }),
    expect: { kind: 'remittance', ...full },
  },
  {
    rule: 'R22',
    name: 'a mailing address is optional',
    req: mail({ remittance: { ...full, mailingAddress: { line1: '1 Main St' } } }),
    expect: { kind: 'remittance', memberId: full.memberId },
  },
  {
    rule: 'R22',
    name: 'no slip and no remittance: every detail is missing',
    req: mail({}),
    expect: { missing: ['memberId', 'firstName', 'lastName', 'carrierName'] },
  },
  {
    rule: 'R22',
    name: 'the insurance company name missing',
    req: mail({ remittance: { ...full, carrierName: undefined } }),
    expect: { missing: ['carrierName'] },
  },
  {
    rule: 'R22',
    name: 'blank names count as missing',
    req: mail({ remittance: { ...full, firstName: '  ', lastName: '' } }),
    expect: { missing: ['firstName', 'lastName'] },
  },
];
for (const r of targetRows) {
  const msg = `${r.rule}: ${r.name}`;
  if ('missing' in r.expect) {
    const err = t.throws(() => paymentTarget(r.req), msg) as unknown as DomainError;
    t.equal(err.code, 'remittance_incomplete', `${msg}: remittance_incomplete`);
    t.same(err.extra.missing, r.expect.missing, `${msg}: lists what is missing`);
  } else t.match(paymentTarget(r.req), r.expect, msg);
}
