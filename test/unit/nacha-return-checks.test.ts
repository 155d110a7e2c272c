import t from 'tap';
import { parseReturnFile } from '../../src/domain/nacha.js';
import { checkReturnEntries } from '../../src/domain/nachaReturnChecks.js';
import { returnFile } from '../helpers/nacha.js';

// R36 with the review's finding R3: a return file's integrity is checked and reported as warnings,
// never refused (docs/decisions.md, "ACH return files: warn, do not reject"). Files are written by
// the tests' own writer (test/helpers/nacha.ts), whose control records are true.

const T1 = '011000010000001';
const T2 = '011000010000002';
const T3 = '011000010000003';

const records = (text: string) => text.slice(0, -1).split('\n');
const joined = (lines: string[]) => `${lines.join('\n')}\n`;
function patch(text: string, i: number, from: number, value: string): string {
  const lines = records(text);
  const line = lines[i] as string;
  lines[i] = line.slice(0, from - 1) + value + line.slice(from - 1 + value.length);
  return joined(lines);
}
const controls = (text: string) => parseReturnFile(text).warnings.map((w) => [w.code, w.line]);

// Two batches: COR (records 2-5: header, entry, addenda, control), returns (6-11), file control 12.
const twoBatches = returnFile([
  { originalTrace: T1, code: 'R01', amountCents: 45000 },
  { originalTrace: T2, code: 'R02', amountCents: 1200, transactionCode: '36' },
  { originalTrace: T3, code: 'C01', corrected: '1234' },
]);

t.test('true control records: no warning, padded or not', async (t) => {
  t.same(controls(twoBatches), []);
  const unpadded = returnFile([
    { originalTrace: T1, code: 'R01', amountCents: 1 },
    { originalTrace: T2, code: 'C01', corrected: '1234' },
  ]);
  t.equal(records(unpadded).length, 10);
  t.same(controls(unpadded), [], 'ten records, one block');
  t.same(controls(twoBatches.replaceAll('\n', '\r\n')), [], 'CRLF');
});

t.test('batch control mismatch: each field, one warning per batch control', async (t) => {
  t.equal(records(twoBatches)[4]?.charAt(0), '8');
  t.equal(records(twoBatches)[10]?.charAt(0), '8');
  const rows: [string, number, number, string, RegExp][] = [
    ['count', 10, 5, '000002', /entry\/addenda count 2 \(the batch has 4\)/],
    ['entry hash', 10, 11, '0000000000', /entry hash 0000000000 \(the batch has 0002200002\)/],
    ['debit total', 10, 21, '000000000001', /total debit 1 cent \(the batch has 46200 cents\)/],
    ['credit total', 4, 33, '000000000005', /total credit 5 cents \(the batch has 0 cents\)/],
  ];
  for (const [name, i, from, value, message] of rows) {
    const warnings = parseReturnFile(patch(twoBatches, i, from, value)).warnings;
    t.same(
      warnings.map((w) => [w.code, w.line]),
      [['batch_control_mismatch', i + 1]],
      name,
    );
    t.match(warnings[0]?.message, message, name);
  }
  const both = patch(patch(twoBatches, 10, 5, '000002'), 10, 21, '000000000000');
  t.equal(parseReturnFile(both).warnings.length, 1, 'two fields of one record: one warning naming both');
  t.match(parseReturnFile(both).warnings[0]?.message, /count 2.*total debit 0 cents/);
  t.same(controls(patch(twoBatches, 10, 5, 'ABCDEF')), [['batch_control_mismatch', 11]], 'not digits');
});

t.test('file control mismatch: batches, blocks, counts, entry hash, totals', async (t) => {
  const rows: [string, number, string, RegExp][] = [
    ['batch count', 2, '000001', /batch count 1 \(the file has 2\)/],
    ['block count', 8, '000002', /block count 2 \(the file has 2\)|block count 2/],
    ['count', 14, '00000007', /entry\/addenda count 7 \(the file has 6\)/],
    ['entry hash', 22, '9999999999', /entry hash 9999999999 \(the file has 0003300003\)/],
    ['debit total', 32, '000000000000', /total debit 0 cents \(the file has 46200 cents\)/],
    ['credit total', 44, '000000000001', /total credit 1 cent \(the file has 0 cents\)/],
  ];
  const fileControl = records(twoBatches).findIndex((l) => l.startsWith('9') && !/^9+$/.test(l));
  t.equal(fileControl, 11);
  // Twelve records and 8 of padding: two blocks; the block count field says 2.
  t.equal(records(twoBatches)[11]?.slice(7, 13), '000002');
  for (const [name, from, value, message] of rows) {
    const text = patch(twoBatches, 11, from, value);
    if (name === 'block count') {
      t.same(controls(text), [], 'the true block count is clean');
      const wrong = parseReturnFile(patch(twoBatches, 11, from, '000001')).warnings;
      t.same(
        wrong.map((w) => [w.code, w.line]),
        [['file_control_mismatch', 12]],
      );
      t.match(wrong[0]?.message, /block count 1 \(the file has 2\)/);
      continue;
    }
    const warnings = parseReturnFile(text).warnings;
    t.same(
      warnings.map((w) => [w.code, w.line]),
      [['file_control_mismatch', 12]],
      name,
    );
    t.match(warnings[0]?.message, message, name);
  }
});

t.test('missing control records and entries outside a batch', async (t) => {
  const lines = records(twoBatches);
  // The first batch's control dropped: the next batch header comes first.
  t.same(controls(joined(lines.filter((_, i) => i !== 4))), [['missing_batch_control', 2]]);
  // The last batch's control dropped: the file control comes first.
  t.same(controls(joined(lines.filter((_, i) => i !== 10))), [['missing_batch_control', 6]]);
  // No file control, no padding.
  t.same(
    parseReturnFile(joined(lines.slice(0, 11))).warnings.map((w) => [w.code, w.line]),
    [['missing_file_control', undefined]],
  );
  // Neither 8 nor 9 records: each batch and the file warned once.
  t.same(controls(joined(lines.slice(0, 11).filter((l) => !l.startsWith('8')))), [
    ['missing_batch_control', 2],
    ['missing_batch_control', 5],
    ['missing_file_control', undefined],
  ]);
  // Entries with no batch header at all.
  const bare = joined([lines[0] as string, ...lines.slice(6, 8), lines[11] as string]);
  t.same(
    parseReturnFile(bare).warnings.map((w) => w.code),
    ['missing_batch_header', 'missing_batch_control', 'file_control_mismatch'],
  );
});

t.test('entries against our originals: amounts and transaction codes', async (t) => {
  const parsed = parseReturnFile(
    returnFile([
      { originalTrace: T1, code: 'R01', amountCents: 45000 },
      { originalTrace: T2, code: 'R01', amountCents: 1 },
      { originalTrace: T3, code: 'R01', amountCents: 1000, transactionCode: '21' },
      { originalTrace: '011000010000004', code: 'R01', amountCents: 1000, transactionCode: '26' },
      { originalTrace: '011000010000005', code: 'R01', amountCents: 1000, transactionCode: '36' },
      { originalTrace: '011000019999999', code: 'R03', amountCents: 5, transactionCode: '21' },
      { originalTrace: '011000019999998', code: 'R03', amountCents: 5, transactionCode: '36' },
      { originalTrace: T1, code: 'C05', corrected: '32', transactionCode: '21' },
    ]),
  );
  const originals = new Map([
    [T1, { amountCents: 45000, method: 'checking' as const }],
    [T2, { amountCents: 45000, method: 'checking' as const }],
    [T3, { amountCents: 1000, method: 'checking' as const }],
    ['011000010000004', { amountCents: 1000, method: 'savings' as const }],
    ['011000010000005', { amountCents: 1000, method: 'savings' as const }],
  ]);
  const warnings = checkReturnEntries([...parsed.returns, ...parsed.notices], originals);
  t.same(
    warnings.map((w) => [w.code, w.traceNumber]),
    [
      ['unexpected_transaction_code', T1], // the C05 (COR batch first)
      ['entry_amount_mismatch', T2],
      ['unexpected_transaction_code', T3],
      ['unexpected_transaction_code', '011000010000004'],
      ['unexpected_transaction_code', '011000019999999'],
    ],
    'a notification of change is checked for its code, never its (zero) amount; unknown traces for code only',
  );
  const amount = warnings.find((w) => w.code === 'entry_amount_mismatch');
  t.match(amount?.message, /1 cent\b.*45000 cents/);
  t.equal(amount?.line, parsed.returns[1]?.entryLine, 'the line of the return entry');
  t.match(warnings.find((w) => w.traceNumber === T3)?.message, /21.*27.*26/);
  t.match(warnings.find((w) => w.traceNumber === '011000010000004')?.message, /26.*37.*36/);
  t.notOk(JSON.stringify(warnings).includes('12345678'), 'no account number in a warning');
});

t.test('an amount field that is not a number is warned, not refused', async (t) => {
  const text = returnFile([{ originalTrace: T1, code: 'R01', amountCents: 45000 }]);
  const broken = patch(text, 2, 30, '00004500X0');
  const parsed = parseReturnFile(broken);
  t.equal(parsed.returns.length, 1);
  t.equal(parsed.returns[0]?.amountCents, null);
  const warnings = checkReturnEntries(parsed.returns, new Map([[T1, { amountCents: 45000, method: 'checking' }]]));
  t.same(
    warnings.map((w) => w.code),
    ['entry_amount_mismatch'],
  );
  t.match(warnings[0]?.message, /not a number/);
  t.same(
    parsed.warnings.map((w) => w.code),
    ['batch_control_mismatch', 'file_control_mismatch'],
    'and the totals no longer add up',
  );
});
