/**
 * Card numbers for the card-screen tests, written independently of src/: Luhn-valid digit strings,
 * rendered with separators and Unicode digit forms, and a digits-only view of any text to search
 * for them whatever form they were sent in.
 */
import fc from 'fast-check';

/** The Luhn (mod 10) check digit for a payload of ASCII digits (the digit next to it is doubled). */
export function luhnDigit(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** A digit string whose last digit is the Luhn check digit of the others. */
export function isLuhnValid(number: string): boolean {
  return /^\d{2,}$/.test(number) && luhnDigit(number.slice(0, -1)) === Number(number.slice(-1));
}

/** Code point of the zero of each digit form; NFKC maps the first three to ASCII, not the others. */
export const DIGIT_ZEROS = {
  ascii: 0x30,
  fullWidth: 0xff10,
  mathBold: 0x1d7ce,
  mathMonospace: 0x1d7f6,
  arabicIndic: 0x0660,
  extendedArabicIndic: 0x06f0,
  devanagari: 0x0966,
  bengali: 0x09e6,
  thai: 0x0e50,
  myanmar: 0x1040,
} as const;
export type DigitForm = keyof typeof DIGIT_ZEROS;

/** The separators the SPEC names, and Unicode ones that NFKC turns into them or that mean the same. */
export const SEPARATORS = [
  ' ',
  '.',
  '-',
  '/',
  '_',
  '\u00a0', // no-break space
  '\u2013', // en dash
  '\u2014', // em dash
  '\u2212', // minus sign
  '\u3000', // ideographic space
  '\uff0d', // full-width hyphen-minus
  '\t',
] as const;

export interface RenderedCard {
  /** The ASCII digits (what must never be found anywhere). */
  digits: string;
  /** As sent. */
  text: string;
}

/** A Luhn-valid number of 13 to 19 digits. */
export const cardDigits = fc
  .integer({ min: 13, max: 19 })
  .chain((length) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length - 1, maxLength: length - 1 }))
  .map((ds) => {
    const payload = `${(ds[0] ?? 0) === 0 ? 4 : ds[0]}${ds.slice(1).join('')}`;
    return payload + luhnDigit(payload);
  });

const separator = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom(...SEPARATORS) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...SEPARATORS), fc.constantFrom(...SEPARATORS)).map(([a, b]) => a + b),
  },
);

/** A card number with random separators between digits and one or several digit forms. */
export const renderedCard: fc.Arbitrary<RenderedCard> = cardDigits.chain((digits) =>
  fc
    .record({
      forms: fc.array(fc.constantFrom(...(Object.keys(DIGIT_ZEROS) as DigitForm[])), {
        minLength: 1,
        maxLength: 3,
      }),
      seps: fc.array(separator, { minLength: digits.length, maxLength: digits.length }),
      picks: fc.array(fc.nat(), { minLength: digits.length, maxLength: digits.length }),
    })
    .map(({ forms, seps, picks }) => {
      let text = '';
      for (let i = 0; i < digits.length; i++) {
        const form = forms[(picks[i] ?? 0) % forms.length] ?? 'ascii';
        if (i > 0) text += seps[i] ?? '';
        text += String.fromCodePoint(DIGIT_ZEROS[form] + Number(digits[i]));
      }
      return { digits, text };
    }),
);

/** Text around the number that cannot extend its run of digits. */
export const surrounding = fc.record({
  before: fc.constantFrom('', 'card ', 'ref: ', 'Maria '),
  after: fc.constantFrom('', ' thanks', '!', ' Santos'),
});

/** Any text with every Unicode decimal digit as its ASCII value and everything else removed (after NFKC). */
export function digitsOnly(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[^\p{ASCII}]+/gu, (chunk) => chunk.replace(/\p{Nd}/gu, digitValue))
    .replace(/[^0-9]/g, '');
}

const values = new Map<string, string>();
/** Decimal digits come in runs of whole blocks 0..9, so a digit's value is its distance from its run's start. */
function digitValue(ch: string): string {
  let v = values.get(ch);
  if (v === undefined) {
    const cp = ch.codePointAt(0) ?? 0;
    let zero = cp;
    while (zero > 0 && /\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero--;
    v = String((cp - zero) % 10);
    values.set(ch, v);
  }
  return v;
}
