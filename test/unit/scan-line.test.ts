import t from 'tap';
import { parseScanLine, scanLine } from '../../src/domain/numbers.js';
import { isLuhnValid, luhnDigit } from '../helpers/cards.js';

// R33: the scan line is digits and single spaces only: the invoice number, the amount due in cents
// and a final Luhn check digit over all its digits. The check digit is re-derived here
// (test/helpers/cards.ts), not taken from src/.
const line = (invoiceNumber: string, amount: string) =>
  `${invoiceNumber} ${amount} ${luhnDigit(invoiceNumber + amount)}`;

t.test('R33: what the scan line holds, row by row', async (t) => {
  const rows: [string, number, string][] = [
    ['1000000008', 45012, line('1000000008', '00000045012')],
    ['1000000016', 1, line('1000000016', '00000000001')],
    ['1999999992', 99_999_999_999, line('1999999992', '99999999999')],
    ['1000000024', 123_456, line('1000000024', '00000123456')],
  ];
  for (const [invoiceNumber, cents, expected] of rows) {
    const s = scanLine(invoiceNumber, cents);
    t.equal(s, expected, `${invoiceNumber}, ${cents} cents`);
    t.match(s, /^\d+( \d+)*$/, `${s}: digits and single spaces only`);
    t.ok(isLuhnValid(s.replaceAll(' ', '')), `${s}: the last digit checks all the digits before it`);
    t.same(parseScanLine(s), { invoiceNumber, amountCents: cents }, `${s}: reads back`);
  }
});

t.test(
  'R33: a scan line that is not digits and single spaces, or whose check digit fails, reads as nothing',
  async (t) => {
    const good = line('1000000008', '00000045012');
    const check = Number(good.at(-1));
    const rows: [string, string][] = [
      [good.replace(/\d$/, String((check + 1) % 10)), 'check digit off by one'],
      [`1000000008 00000045021 ${check}`, 'two amount digits swapped'],
      [`1000000009 00000045012 ${check}`, 'invoice number misread'],
      [good.replace(' ', '  '), 'two spaces'],
      [good.replaceAll(' ', ''), 'no spaces'],
      [good.replace(' ', '-'), 'a dash'],
      [`${good} `, 'a trailing space'],
      [` ${good}`, 'a leading space'],
      [good.replace('0', 'O'), 'a letter O'],
      ['1000000008 45012 7', 'an amount not padded to 11 digits'],
      ['', 'empty'],
    ];
    for (const [value, why] of rows) t.equal(parseScanLine(value), null, `${why}: ${JSON.stringify(value)}`);
  },
);
