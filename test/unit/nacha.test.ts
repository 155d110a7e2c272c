import t from 'tap';
import { massachusettsCalendar as calendar } from '../../src/domain/calendar.js';
import type { IsoDate } from '../../src/domain/dates.js';
import { DomainError } from '../../src/domain/errors.js';
import {
  buildNachaFile,
  classifyReturns,
  debitTransactionCode,
  effectiveDateFor,
  entryHash,
  fileIdModifier,
  individualName,
  looksLikeNachaFile,
  MAX_FILE_TOTAL_CENTS,
  type NachaDebit,
  nachaText,
  parseReturnFile,
  secCodeOf,
  selectForFile,
  traceNumber,
} from '../../src/domain/nacha.js';
import { hashOf, readNacha, returnFile } from '../helpers/nacha.js';

// R35 (origination file) and R36 (return file), one row per rule case; the file is read back by an
// independent reader (test/helpers/nacha.ts).
const origin = {
  immediateDestination: '011000015',
  immediateDestinationName: 'Test ODFI',
  immediateOrigin: '1000000000',
  immediateOriginName: 'Health Connector',
  companyId: '1000000000',
};
/** The DomainError a call throws (null when it returns). */
function refusal(call: () => unknown): DomainError | null {
  try {
    call();
    return null;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
}
const debit = (over: Partial<NachaDebit>): NachaDebit => ({
  secCode: 'WEB',
  transactionCode: '27',
  routingNumber: '021000021',
  accountNumber: '000123456789',
  amountCents: 45000,
  individualId: '100000000001',
  individualName: 'Ana Lopes',
  traceNumber: traceNumber('011000015', 1),
  ...over,
});

t.test('R35 codes: SEC code by channel, transaction code by account type, trace numbers', async (t) => {
  const rows: [string, unknown, unknown][] = [
    ['online is WEB', secCodeOf('online'), 'WEB'],
    ['phone is TEL', secCodeOf('phone'), 'TEL'],
    ['checking debit is 27', debitTransactionCode('checking'), '27'],
    ['savings debit is 37', debitTransactionCode('savings'), '37'],
    ['trace: ODFI 8 digits + 7-digit sequence', traceNumber('011000015', 42), '011000010000042'],
    ['trace: largest sequence', traceNumber('021000021', 9_999_999), '021000029999999'],
    ['file id modifiers: A first', fileIdModifier(0), 'A'],
    ['file id modifiers: Z 26th', fileIdModifier(25), 'Z'],
    ['file id modifiers: then digits', fileIdModifier(26), '0'],
    ['file id modifiers: 9 is the 36th', fileIdModifier(35), '9'],
    ['names: upper-case ASCII, accents dropped', nachaText('José  da Conceição-Ñ'), 'JOSE DA CONCEICAO-N'],
    ['individual name: Latin as written', individualName('José', 'da Conceição', '123456789012'), 'JOSE DA CONCEICAO'],
    ['individual name: Greek transliterated', individualName('Ωμέγα', 'Σίσυφος', '123456789012'), 'OMEGA SISYFOS'],
    ['individual name: Han transliterated', individualName('太郎', '山田', '123456789012'), 'TAILANG SHANTIAN'],
    ['individual name: full-width letters', individualName('Ａｎａ', 'Ｌｉｍａ', '123456789012'), 'ANA LIMA'],
    ['individual name: nothing left, the Member ID', individualName('¿', '¡', '123456789012'), '123456789012'],
  ];
  for (const [name, got, want] of rows) t.equal(got, want, name);
  t.throws(() => traceNumber('011000015', 10_000_000), RangeError, 'the sequence has 7 digits');
  t.throws(() => traceNumber('011000015', 0), RangeError, 'sequences start at 1');
  t.throws(
    () => fileIdModifier(36),
    { code: 'ach_file_limit_reached' },
    'a 37th file in a day would repeat a modifier',
  );
});

t.test('R35 a file within the format: 12-digit totals, entries that fit 10 digits', async (t) => {
  const big = 9_999_999_999;
  const pending = (amounts: number[]) => amounts.map((amountCents, i) => ({ id: i, amountCents }));
  const ids = (r: { chosen: { id: number }[]; left: number }) => [r.chosen.map((c) => c.id), r.left];
  t.same(ids(selectForFile(pending([1, 2, 3]))), [[0, 1, 2], 0], 'everything when it fits');
  t.same(
    ids(selectForFile(pending(Array(101).fill(big)))).map((x) => (Array.isArray(x) ? x.length : x)),
    [100, 1],
  );
  t.equal(100 * big <= MAX_FILE_TOTAL_CENTS, true, '100 of the largest entries fit 12 digits');
  t.same(ids(selectForFile(pending([big + 1, 5]))), [[1], 1], 'an entry that fits no amount field is left out');
  t.same(
    ids(selectForFile(pending([...Array(99).fill(big), big, 100]))),
    [[...Array(100).keys()], 1],
    'the file closes before its total would pass 12 digits',
  );
  t.throws(() => selectForFile([]), { code: 'nothing_to_originate' });
  t.throws(() => selectForFile(pending([big + 1])), { code: 'nothing_to_originate' });
});

t.test('R35 entry hash: the 8-digit routing prefixes summed, rightmost 10 digits', async (t) => {
  const rows: [string, string[], string][] = [
    ['one entry', ['021000021'], '0002100002'],
    ['two entries', ['021000021', '011000015'], '0003200003'],
    ['overflow keeps the rightmost 10 digits', Array(200).fill('999999999'), '9999999800'],
  ];
  for (const [name, routings, want] of rows) {
    t.equal(entryHash(routings), want, name);
    t.equal(entryHash(routings), hashOf(routings), `${name}: independent computation agrees`);
  }
});

t.test('R35 a file with both SEC codes reads back record by record', async (t) => {
  const entries = [
    debit({ traceNumber: traceNumber('011000015', 1), amountCents: 45000 }),
    debit({
      traceNumber: traceNumber('011000015', 2),
      transactionCode: '37',
      routingNumber: '026009593',
      amountCents: 1,
    }),
    debit({ secCode: 'TEL', traceNumber: traceNumber('011000015', 3), amountCents: 3000, individualName: 'Rui Costa' }),
  ];
  const file = buildNachaFile({
    origin,
    createdAt: new Date('2026-12-04T15:32:00Z'), // 10:32 in Boston
    fileIdModifier: 'B',
    effectiveDate: '2026-12-07' as IsoDate,
    entries,
  });
  const read = readNacha(file.text);
  t.ok(
    read.lines.every((l) => l.length === 94),
    'every record is 94 characters',
  );
  t.equal(read.lines.length % 10, 0, 'line count is a multiple of 10 (blocking factor)');
  t.equal(read.lines.length, 10, 'header, 2 x (batch header, control), 3 entries, control: 9, padded to 10');
  t.equal(read.padding, 1, 'padded with one record of 9s');
  t.same(
    read.header,
    {
      priority: '01',
      destination: ' 011000015',
      origin: '1000000000',
      date: '261204',
      time: '1032',
      modifier: 'B',
      recordSize: '094',
      blocking: '10',
      format: '1',
      destinationName: 'TEST ODFI'.padEnd(23),
      originName: 'HEALTH CONNECTOR'.padEnd(23),
    },
    'file header',
  );
  t.same(
    read.batches.map((b) => [
      b.secCode,
      b.serviceClass,
      b.companyName,
      b.companyId,
      b.effectiveDate,
      b.odfi,
      b.batchNumber,
    ]),
    [
      ['WEB', '225', 'HEALTH CONNECTOR', '1000000000', '261207', '01100001', 1],
      ['TEL', '225', 'HEALTH CONNECTOR', '1000000000', '261207', '01100001', 2],
    ],
    'one debit-only batch per SEC code',
  );
  const [web, tel] = read.batches;
  t.same(
    web?.entries.map((e) => [
      e.transactionCode,
      e.routing,
      e.account,
      e.amountCents,
      e.individualId,
      e.individualName,
      e.addenda,
      e.trace,
    ]),
    [
      ['27', '021000021', '000123456789', 45000, '100000000001', 'ANA LOPES', '0', '011000010000001'],
      ['37', '026009593', '000123456789', 1, '100000000001', 'ANA LOPES', '0', '011000010000002'],
    ],
  );
  t.same(web?.control, {
    count: 2,
    hash: hashOf(['021000021', '026009593']),
    debit: 45001,
    credit: 0,
    companyId: '1000000000',
    batchNumber: 1,
  });
  t.same(tel?.control, {
    count: 1,
    hash: hashOf(['021000021']),
    debit: 3000,
    credit: 0,
    companyId: '1000000000',
    batchNumber: 2,
  });
  t.same(read.control, {
    batches: 2,
    blocks: 1,
    entries: 3,
    hash: hashOf(entries.map((e) => e.routingNumber)),
    debit: 48001,
    credit: 0,
  });
  t.same([file.entryCount, file.totalDebitCents, file.lineCount], [3, 48001, 10]);
});

t.test('R35 blocking: exactly 10 records need no padding; 11 take a second block', async (t) => {
  // header + batch header + n entries + batch control + file control = n + 4
  const file = (n: number) =>
    buildNachaFile({
      origin,
      createdAt: new Date('2026-12-04T15:00:00Z'),
      fileIdModifier: 'A',
      effectiveDate: '2026-12-07' as IsoDate,
      entries: Array.from({ length: n }, (_, i) => debit({ traceNumber: traceNumber('011000015', i + 1) })),
    });
  const six = readNacha(file(6).text);
  t.same([six.lines.length, six.padding, six.control.blocks], [10, 0, 1]);
  const seven = readNacha(file(7).text);
  t.same([seven.lines.length, seven.padding, seven.control.blocks], [20, 9, 2]);
  t.throws(() => file(0), RangeError, 'an empty file is never built');
});

t.test('R35 effective date: next business day by default; a given date is a business day after today', async (t) => {
  const friday = new Date('2026-12-04T15:00:00Z');
  const rows: [string, string | undefined, Date, string | null][] = [
    ['default on a Friday is Monday', undefined, friday, '2026-12-07'],
    ['default before Christmas skips the holiday', undefined, new Date('2026-12-24T15:00:00Z'), '2026-12-28'],
    ['a business day ahead', '2026-12-09', friday, '2026-12-09'],
    ['today is refused', '2026-12-04', friday, null],
    ['the past is refused', '2026-12-01', friday, null],
    ['a Saturday is refused', '2026-12-05', friday, null],
    ['a holiday is refused (Christmas)', '2026-12-25', friday, null],
    ['more than 30 days ahead is refused', '2027-01-05', friday, null],
    ['not a date', '2026-02-30', friday, null],
  ];
  for (const [name, requested, now, want] of rows) {
    if (want) t.equal(effectiveDateFor(requested, now, calendar), want, name);
    else t.equal(refusal(() => effectiveDateFor(requested, now, calendar))?.code, 'invalid_effective_date', name);
  }
});

t.test('R36 a return file: returns with their 99 addenda, changes with their 98 addenda', async (t) => {
  const text = returnFile([
    { originalTrace: '011000010000001', code: 'R01', amountCents: 1000 },
    { originalTrace: '011000010000002', code: 'R02', account: '98765432104321', amountCents: 2000 },
    { originalTrace: '011000010000003', code: 'C01', corrected: '55556666777788' },
    { originalTrace: '011000010000004', code: 'C03', corrected: '026009593   123456789' },
    { originalTrace: '011000010000005', code: 'C02', corrected: '021000021' },
  ]);
  t.ok(looksLikeNachaFile(text), 'has the shape of a Nacha file');
  const parsed = parseReturnFile(text);
  t.same(
    parsed.returns.map((r) => [r.originalTraceNumber, r.reasonCode, r.returnTraceNumber]),
    [
      ['011000010000001', 'R01', '021000020000004'],
      ['011000010000002', 'R02', '021000020000005'],
    ],
  );
  t.same(
    parsed.notices.map((n) => [n.originalTraceNumber, n.changeCode, n.corrected]),
    [
      ['011000010000003', 'C01', { accountLast4: '7788' }],
      ['011000010000004', 'C03', { routingNumber: '026009593', accountLast4: '6789' }],
      ['011000010000005', 'C02', { routingNumber: '021000021' }],
    ],
    'corrected account numbers are cut to their last 4',
  );
  t.notOk(JSON.stringify(parsed).includes('55556666777788'), 'no full corrected account number in the result');
  t.notOk(JSON.stringify(parsed).includes('98765432104321'), 'no account number of a return entry in the result');
});

t.test('R36 malformed return files are refused naming the line', async (t) => {
  const good = returnFile([{ originalTrace: '011000010000001', code: 'R01', amountCents: 1000 }]);
  const lines = good.split('\n');
  const rows: [string, string, number][] = [
    ['empty body', '', 1],
    ['a short record', `${lines[0]}\n${(lines[1] ?? '').slice(0, 90)}\n`, 2],
    ['starts without a file header', lines.slice(1).join('\n'), 1],
    ['an entry whose addenda is missing', [lines[0], lines[1], lines[2], lines[4]].join('\n'), 3],
    ['a reason code that is not R01..R99', good.replace('799R01', '799X01'), 4],
    ['an addenda type other than 98/99', good.replace('799R01', '705R01'), 4],
    ['a control character', good.replace('HEALTH CONNECTOR', 'HEALTH\u0001CONNECTOR'), 1],
  ];
  for (const [name, text, line] of rows) {
    const err = refusal(() => parseReturnFile(text));
    t.same([err?.code, err?.extra.line], ['invalid_nacha_file', line], name);
  }
  t.doesNotThrow(() => parseReturnFile(good.replaceAll('\n', '\r\n')), 'CRLF line breaks are read too');
  // 10 records exactly: the last one is the file control, whose 39 trailing blanks are part of it.
  const unpadded = returnFile([
    { originalTrace: '011000010000001', code: 'R01', amountCents: 1000 },
    { originalTrace: '011000010000002', code: 'C01', corrected: '1234' },
  ]);
  t.equal(unpadded.split('\n').length - 1, 10, 'a file with no padding record');
  t.equal(parseReturnFile(unpadded).returns.length, 1, 'its file control keeps its trailing blanks');
  t.notOk(looksLikeNachaFile('4111 1111 1111 1111'), 'a card number is not a Nacha file');
});

t.test('R36 outcomes: returned, already returned, unknown trace, twice in the file', async (t) => {
  const payments = new Map([
    ['011000010000001', { id: 'pay_a', returned: false }],
    ['011000010000002', { id: 'pay_b', returned: true }],
  ]);
  const item = (trace: string) => ({
    originalTraceNumber: trace,
    reasonCode: 'R01',
    returnTraceNumber: '0',
    line: 1,
    transactionCode: '26',
    amountCents: 1000,
    entryLine: 1,
  });
  t.same(
    classifyReturns(
      [item('011000010000001'), item('011000010000002'), item('011000010000009'), item('011000010000001')],
      payments,
    ).map((r) => [r.paymentId, r.outcome]),
    [
      ['pay_a', 'returned'],
      ['pay_b', 'already_returned'],
      [null, 'unknown_trace'],
      ['pay_a', 'duplicate_in_file'],
    ],
  );
});
