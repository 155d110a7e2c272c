/**
 * R36 and the review of issues 14-15, round 2 finding R3: a return file's integrity is checked and
 * reported, never enforced. Returns are still matched by trace number and applied as R25 whatever the
 * file's amounts and control records say (docs/decisions.md, "ACH return files: warn, do not
 * reject"); the answer lists `warnings` for ops, the same ones when the file comes again, and the
 * service logs them once, without account numbers.
 *
 * Every file here answers a real origination file made by the service (POST /v1/ops/ach-files).
 */
import pino from 'pino';
import t from 'tap';
import { REDACT_PATHS } from '../../src/app.js';
import { testApp } from '../helpers/app.js';
import { getEnrollment } from '../helpers/billing.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { type ReturnItem, returnFile } from '../helpers/nacha.js';
import { bankAccount, getPayment, payOk } from '../helpers/payments.js';
import { memoryStream, occurrences } from '../helpers/safety.js';

const log = memoryStream();
const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, log.stream);
const ctx = await testApp(t, { logger });
await setClock(ctx, '2026-12-04T15:00:00Z');
const carrier = await newCarrier(ctx);
const ACCOUNT = '000987654321';

interface Warning {
  code: string;
  message: string;
  line?: number;
  traceNumber?: string;
}

/** A binder of $450 paid by an online bank debit, put in a new ACH file; its trace and the file's text. */
async function originated(method: 'checking' | 'savings' = 'checking') {
  const e = await newEnrollment(ctx, { carrierId: carrier.id });
  const p = await payOk(ctx, {
    channel: 'online',
    method,
    amountCents: 45000,
    enrollmentId: e.id,
    ...bankAccount(ACCOUNT),
  });
  const created = await ctx.request({ method: 'POST', url: '/v1/ops/ach-files', payload: {} });
  if (created.statusCode !== 201) throw new Error(`ACH file: ${created.statusCode} ${created.body}`);
  const original = (await ctx.request({ method: 'GET', url: `/v1/ops/ach-files/${created.json().id}` })).body;
  const trace = String((await getPayment(ctx, p.id)).traceNumber);
  return { e, p, trace, original };
}

const post = (text: string) =>
  ctx.request({ method: 'POST', url: '/v1/ops/ach-returns', payload: text, headers: { 'content-type': 'text/plain' } });

/** The file's records (without the final line break), and back. */
const records = (text: string) => text.slice(0, -1).split('\n');
const joined = (lines: string[]) => `${lines.join('\n')}\n`;
/** Replaces 1-based columns from..to of the record at 0-based index i. */
function patch(text: string, i: number, from: number, value: string): string {
  const lines = records(text);
  const line = lines[i] as string;
  lines[i] = line.slice(0, from - 1) + value + line.slice(from - 1 + value.length);
  return joined(lines);
}
const codes = (warnings: Warning[]) => warnings.map((w) => w.code);

t.test('a true return file answers warnings: []', async (t) => {
  const { p, trace, original } = await originated();
  const res = await post(returnFile([{ originalTrace: trace, code: 'R01' }], { original }));
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().warnings, []);
  t.equal(res.json().returns[0].outcome, 'returned');
  t.equal((await getPayment(ctx, p.id)).status, 'returned');
});

t.test('a 1-cent return of a 45,000-cent entry is applied as R25 (SPEC R36) and warned', async (t) => {
  const { e, p, trace, original } = await originated();
  const text = returnFile([{ originalTrace: trace, code: 'R01', amountCents: 1 }], { original });
  const logBefore = log.text().length;
  const res = await post(text);
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.equal(body.returns[0].outcome, 'returned', 'matched by trace number and applied, as the SPEC says');
  t.equal((await getPayment(ctx, p.id)).status, 'returned', 'the whole payment is returned (R25)');
  t.equal((await getEnrollment(ctx, e.id)).status, 'pending_payment', 'the binder is unpaid again');
  t.same(codes(body.warnings), ['entry_amount_mismatch'], 'the control records are true: only the amount');
  const [w] = body.warnings as Warning[];
  t.equal(w?.traceNumber, trace);
  t.equal(w?.line, 3, 'the return entry record');
  t.match(w?.message, /\b1 cent\b/, 'names the return amount');
  t.match(w?.message, /\b45000 cents\b/, "and our entry's amount");

  const stored = await ctx.database.db
    .selectFrom('ach_return_files')
    .select('warnings')
    .where('id', '=', body.id)
    .executeTakeFirstOrThrow();
  t.same(stored.warnings, body.warnings, 'recorded with the file');

  const logged = log.text().slice(logBefore);
  t.equal(occurrences(logged, 'entry_amount_mismatch'), 1, 'logged once');
  t.match(logged, /"level":40/, 'at warn level');
  t.equal(occurrences(logged, ACCOUNT), 0, 'no account number in the log');

  // The same file again: nothing changes, the same warnings are answered, nothing is logged again.
  const again = await post(text);
  t.equal(again.statusCode, 200, again.body);
  t.equal(again.json().repeat, true);
  t.equal(again.json().returns[0].outcome, 'already_returned');
  t.same(again.json().warnings, body.warnings, 'a repeated file answers the same warnings');
  t.equal(occurrences(log.text().slice(logBefore), 'entry_amount_mismatch'), 1, 'a repeat is not logged again');
  t.equal(occurrences(again.body, ACCOUNT), 0, 'no account number in the answer');
});

t.test('transaction codes: 26 answers a 27, 36 a 37; 21 (a credit) is never ours', async (t) => {
  const checking = await originated('checking');
  const savings = await originated('savings');
  const other = await originated('checking');
  const UNKNOWN = '011000019999999';
  // Three files' entries in one return file: amounts and codes given here, as each file says them.
  const items: ReturnItem[] = [
    { originalTrace: checking.trace, code: 'R01', amountCents: 45000, transactionCode: '21' },
    { originalTrace: savings.trace, code: 'R01', amountCents: 45000, transactionCode: '26' },
    { originalTrace: other.trace, code: 'R01', amountCents: 45000, transactionCode: '26' },
    { originalTrace: UNKNOWN, code: 'R03', amountCents: 45000, transactionCode: '31' },
  ];
  const text = returnFile(items);
  const res = await post(text);
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.same(
    body.returns.map((r: { outcome: string }) => r.outcome),
    ['returned', 'returned', 'returned', 'unknown_trace'],
    'every known trace is applied anyway',
  );
  const warnings = body.warnings as Warning[];
  t.same(
    warnings.map((w) => [w.code, w.traceNumber]),
    [
      ['unexpected_transaction_code', checking.trace],
      ['unexpected_transaction_code', savings.trace],
      ['unexpected_transaction_code', UNKNOWN],
    ],
    'a checking return with 26 is clean',
  );
  t.match(warnings[0]?.message, /\b21\b.*\b26\b/);
  t.match(warnings[1]?.message, /\b26\b.*\b36\b/);
});

t.test('batch control: counts, entry hash and totals of an 8 record are checked', async (t) => {
  const { trace, original } = await originated();
  const good = returnFile([{ originalTrace: trace, code: 'R01' }], { original });
  // Records: 1 header, 2 batch header, 3 entry, 4 addenda, 5 batch control, 6 file control.
  const control = records(good)[4] as string;
  t.equal(control.charAt(0), '8');
  const bad = patch(patch(patch(good, 4, 5, '000001'), 4, 11, '0000000001'), 4, 21, '000000000001');
  const res = await post(bad);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().returns[0].outcome, 'returned', 'applied all the same');
  const warnings = res.json().warnings as Warning[];
  t.same(codes(warnings), ['batch_control_mismatch']);
  t.equal(warnings[0]?.line, 5);
  t.match(warnings[0]?.message, /entry\/addenda count 1 \(the batch has 2\)/);
  t.match(warnings[0]?.message, /entry hash 0000000001/);
  t.match(warnings[0]?.message, /total debit 1 cent \(the batch has 45000 cents\)/);
  const credit = await post(patch(good, 4, 33, '000000000007'));
  t.match(credit.json().warnings[0]?.message, /total credit 7 cents \(the batch has 0 cents\)/);
});

t.test('file control: batch count, block count, counts, entry hash and totals of the 9 record', async (t) => {
  const { trace, original } = await originated();
  const good = returnFile([{ originalTrace: trace, code: 'R01' }], { original });
  const bad = patch(good, 5, 2, `000002000003${'00000004'}${'0'.repeat(10)}${'0'.repeat(12)}000000000009`);
  const res = await post(bad);
  t.equal(res.statusCode, 200, res.body);
  const warnings = res.json().warnings as Warning[];
  t.same(codes(warnings), ['file_control_mismatch']);
  t.equal(warnings[0]?.line, 6);
  for (const part of [
    /batch count 2 \(the file has 1\)/,
    /block count 3 \(the file has 1\)/,
    /entry\/addenda count 4 \(the file has 2\)/,
    /entry hash 0000000000/,
    /total debit 0 cents \(the file has 45000 cents\)/,
    /total credit 9 cents \(the file has 0 cents\)/,
  ]) {
    t.match(warnings[0]?.message, part);
  }
});

t.test('a file without its 8 or its 9 record is applied and warned', async (t) => {
  const one = await originated();
  const noBatchControl = records(returnFile([{ originalTrace: one.trace, code: 'R01' }], { original: one.original }));
  noBatchControl.splice(4, 1);
  const res = await post(joined(noBatchControl));
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().returns[0].outcome, 'returned');
  t.same(
    (res.json().warnings as Warning[]).map((w) => [w.code, w.line]),
    [['missing_batch_control', 2]],
    'names the batch header whose control is missing',
  );

  const two = await originated();
  const noFileControl = records(returnFile([{ originalTrace: two.trace, code: 'R01' }], { original: two.original }));
  const res2 = await post(joined(noFileControl.slice(0, 5)));
  t.equal(res2.statusCode, 200, res2.body);
  t.equal(res2.json().returns[0].outcome, 'returned');
  t.same(codes(res2.json().warnings), ['missing_file_control']);
});

t.test('a file written from the SPEC alone (zero amounts, zero controls) still works, with warnings', async (t) => {
  const { p, trace, original } = await originated();
  const good = returnFile([{ originalTrace: trace, code: 'R01', amountCents: 0 }], { original });
  // Zero control records, as a test file written from R36 alone might carry.
  const zeroed = patch(
    patch(good, 4, 5, `000000${'0'.repeat(10)}${'0'.repeat(24)}`),
    5,
    2,
    `000000000000${'0'.repeat(8)}${'0'.repeat(10)}${'0'.repeat(24)}`,
  );
  const res = await post(zeroed);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().returns[0].outcome, 'returned');
  t.equal((await getPayment(ctx, p.id)).status, 'returned');
  t.same(codes(res.json().warnings), ['entry_amount_mismatch', 'batch_control_mismatch', 'file_control_mismatch']);
});

t.test('the OpenAPI document describes warnings', async (t) => {
  const doc = (await ctx.request({ method: 'GET', url: '/openapi.json', key: null })).json();
  const text = JSON.stringify(doc.paths['/v1/ops/ach-returns']);
  for (const code of [
    'entry_amount_mismatch',
    'unexpected_transaction_code',
    'batch_control_mismatch',
    'file_control_mismatch',
    'missing_batch_control',
    'missing_file_control',
  ]) {
    t.match(text, code, code);
  }
});
