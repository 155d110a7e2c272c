import t from 'tap';
import { pickRemittanceEnrollment, type RemittanceCandidate } from '../../src/domain/payment.js';

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
