import fc from 'fast-check';
import t from 'tap';
import { assertNoCardNumber, containsCardNumber, maskCardNumbers } from '../../src/domain/cardScreen.js';
import type { DomainError } from '../../src/domain/errors.js';
import { cardDigits, digitsOnly, isLuhnValid, renderedCard } from '../helpers/cards.js';

// SPEC conventions, "Card data". 4111111111111111 (Visa), 378282246310005 (Amex), 4222222222222 (13 digits)
// and 6011000990139424 (Discover) pass Luhn; 4111111111111112 does not.
t.test('what is a card number: separators, Unicode digits, runs judged whole', async (t) => {
  const cases: [string, boolean, string][] = [
    ['4111111111111111', true, 'plain'],
    ['4111 1111 1111 1111', true, 'spaces'],
    ['4111  1111  1111  1111', true, 'double spaces'],
    ['4111.1111.1111.1111', true, 'dots'],
    ['4111-1111-1111-1111', true, 'dashes'],
    ['4111/1111/1111/1111', true, 'slashes'],
    ['4111_1111_1111_1111', true, 'underscores'],
    ['4111 -/_.1111--1111  1111', true, 'mixed runs of separators'],
    ['4111\u00a01111\u00a01111\u00a01111', true, 'no-break spaces'],
    ['4111\u20131111\u20141111\u22121111', true, 'en dash, em dash, minus sign'],
    ['4111\u30001111\u30001111\u30001111', true, 'ideographic spaces'],
    ['4111\u200b1111\u200b1111\u200b1111', true, 'zero-width spaces'],
    ['4111\t1111\n1111\r\n1111', true, 'tabs and line breaks'],
    [
      '\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11',
      true,
      'full-width',
    ],
    ['\u{1d7d2}\u{1d7cf}\u{1d7cf}\u{1d7cf}111111111111', true, 'mathematical bold digits'],
    [
      '\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661',
      true,
      'Arabic-Indic',
    ],
    ['\u096a\u0967\u0967\u0967 1111 1111 1111', true, 'Devanagari and ASCII mixed'],
    ['378282246310005', true, 'Amex, 15 digits'],
    ['4222222222222', true, '13 digits'],
    ['card 6011000990139424 thanks', true, 'inside text'],
    ['tok_4111111111111111_x', true, 'inside a token'],
    ['4111111111111112', false, 'fails Luhn'],
    ['411111111111', false, '12 digits'],
    ['41111111111111111111', false, '20 digits (a run judged whole, not its windows)'],
    ['4111 1111 1111 1111 0000', false, '20 digits with separators'],
    ['1000000017 00000045000 3', false, 'a scan line: 22 digits'],
    ['4111,1111,1111,1111', false, 'commas separate runs'],
    ['4111 1111 1111', false, '12 digits in groups'],
    ['Maria Santos', false, 'a name'],
    ['', false, 'empty'],
  ];
  for (const [text, expected, name] of cases) t.equal(containsCardNumber(text), expected, name);
});

t.test('property: every generated rendering of a card number is found, and masked', async (t) => {
  fc.assert(
    fc.property(renderedCard, (card) => {
      const text = `ref ${card.text}!`;
      return containsCardNumber(text) && !digitsOnly(maskCardNumbers(text)).includes(card.digits);
    }),
    { numRuns: 2000, seed: 7 },
  );
  t.pass('2000 renderings found and masked');
});

t.test('property: a card number glued to more digits is not a card number (judged whole)', async (t) => {
  fc.assert(
    fc.property(cardDigits, fc.integer({ min: 0, max: 9 }), (digits, extra) => {
      // 13-19 digits plus one more: only a card number if the whole longer run is one (and Luhn-valid).
      const longer = `${digits}${extra}`;
      return containsCardNumber(longer) === (longer.length <= 19 && isLuhnValid(longer));
    }),
    { numRuns: 2000, seed: 11 },
  );
  t.pass('2000 longer runs judged whole');
});

t.test('the screen names the field, at any depth, and never the value', async (t) => {
  const refused = (parts: Parameters<typeof assertNoCardNumber>[0]) => {
    try {
      assertNoCardNumber(parts);
      return null;
    } catch (err) {
      const e = err as DomainError;
      t.equal(e.code, 'card_number_not_allowed');
      t.notOk(`${e.message}${JSON.stringify(e.extra)}`.includes('4111'), 'the value is not in the error');
      return e.extra.field;
    }
  };
  t.equal(refused([['body', { a: [{ b: { c: 'x 4111 1111 1111 1111' } }] }]]), 'body.a[0].b.c');
  t.equal(refused([['body', { a: { '4111111111111111': 1 } }]]), 'body.a', 'an object key: its object is named');
  t.equal(refused([['body', { n: 4111111111111111 }]]), 'body.n', 'an integer');
  t.equal(refused([['query', { q: '4111-1111-1111-1111' }]]), 'query.q');
  t.equal(refused([['params', { id: '4111111111111111' }]]), 'params.id');
  t.equal(refused([['body', '4111111111111111']]), 'body', 'a text body');
  t.equal(refused([['body', { ok: 'fine', list: [1, 2, 'three'] }]]), null);
  // A deep body (the JSON parser bounds depth; the walk itself has its own stack and cannot overflow).
  let deep: unknown = '4111111111111111';
  for (let i = 0; i < 20_000; i++) deep = [deep];
  t.equal(
    refused([['body', deep]])
      ?.toString()
      .startsWith('body[0][0]'),
    true,
    '20,000 levels deep',
  );
});

t.test('fixed-digit fields in their own format are not screened; other values there are', async (t) => {
  const ok = (path: string, value: string) => {
    const [part, ...rest] = path.split('.');
    let v: unknown = value;
    for (const key of rest.reverse()) {
      const m = /^(.*)\[(\d+)\]$/.exec(key);
      v = m ? { [m[1] as string]: [v] } : { [key]: v };
    }
    try {
      assertNoCardNumber([[part as 'body', v]]);
      return true;
    } catch {
      return false;
    }
  };
  const cases: [string, string, boolean, string][] = [
    ['body.bankAccount.accountNumber', '4111111111111111', true, '16-digit Luhn-valid account number'],
    ['body.bankAccount.accountNumber', '4111-1111-1111-1111', false, 'not an account number format'],
    ['body.check.checkNumber', '378282246310005', true, '15-digit check number'],
    ['body.check.checkNumber', '4111111111111111', false, '16 digits is no check number'],
    ['body.moneyOrder.serialNumber', 'MO-378282246310005', true, 'money order serial'],
    ['body.phoneNumber', '+378282246310005', true, 'E.164 phone number of 15 digits'],
    ['query.phoneNumber', '+1 (617) 555-0100', true, 'formatted phone number'],
    ['body.phoneNumbers[0]', '+378282246310005', true, 'account phone number'],
    ['body.phoneNumber', '4111111111111111', false, 'no phone number'],
    ['body.enrollmentId', 'enr_4111111111111111abcdefabcdefabcd', true, 'an enrollment id of ours'],
    ['params.id', 'pay_4111111111111111abcdefabcdefabcd', true, 'a payment id of ours'],
    ['params.id', 'key_4111111111111111abcd', true, 'an API key id of ours'],
    ['params.id', 'ach_4111111111111111abcdefabcdefabcd', true, 'an ACH file id of ours'],
    ['params.id', 'achr_4111111111111111abcdefabcdefabcd', true, 'a return file id of ours'],
    ['params.id', 'run_4111111111111111abcdefabcdefabcd', true, 'a billing run id of ours'],
    ['params.id', 'enr_4111111111111111', false, 'too short for an id of ours'],
    [
      'headers.idempotency-key',
      'abcdefab-4111-1111-1111-1111abcdefab',
      true,
      'a UUID (its own format) with a Luhn-valid run',
    ],
    ['headers.idempotency-key', 'k-4111-1111-1111-1111', false, 'another key with a card number'],
    ['body.remittance.firstName', '4111111111111111', false, 'names are free text'],
    ['body.card.accountNumber', '4111111111111111', false, 'the same name elsewhere is screened'],
  ];
  for (const [path, value, accepted, name] of cases) t.equal(ok(path, value), accepted, name);
});

t.test('maskCardNumbers leaves text without card numbers as it is', async (t) => {
  t.equal(maskCardNumbers('/v1/accounts?phoneNumber=%2B16175550100'), '/v1/accounts?phoneNumber=%2B16175550100');
  t.equal(maskCardNumbers('/v1/x/4111-1111-1111-1111?a=1'), '/v1/x/[card number]?a=1');
});
