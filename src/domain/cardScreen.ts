import { normalizePhoneNumber } from './accounts.js';
import { DomainError } from './errors.js';
import { looksLikeNachaFile } from './nacha.js';
import { isValidLuhn, SCAN_LINE_PATTERN } from './numbers.js';

/**
 * SPEC conventions, "Card data": no text value of a request that holds a card number is stored,
 * logged or echoed. A card number is a run of 13 to 19 digits, judged whole, whose digits may be
 * separated by spaces, dots, dashes, slashes or underscores (any number of them, mixed), after NFKC
 * normalisation and with every Unicode decimal digit read as its value, that passes the Luhn check.
 *
 * Separators, generously: every Unicode white space (NBSP, ideographic space, tabs, line breaks),
 * every dash punctuation (hyphen-minus, hyphens, en and em dashes, full-width hyphen after NFKC),
 * the minus sign, dots (full stop, middle dot, hyphenation point, katakana middle dot), slashes
 * (solidus, backslash, fraction and division slash), the underscore, and invisible format
 * characters (zero-width space, soft hyphen, word joiner...), which would otherwise split a run unseen.
 */
const SEPARATOR = String.raw`[\s._/\\\p{Pd}\p{Cf}\u2212\u2044\u2215\u00b7\u2027\u30fb]`;
const RUN = new RegExp(`[0-9](?:${SEPARATOR}*[0-9])*`, 'gu');
/** The same for plain ASCII text (most values), which NFKC leaves as it is. */
const ASCII_RUN = /[0-9](?:[\t\n\v\f\r ._/\\-]*[0-9])*/g;
const ASCII_ONLY = /^[\p{ASCII}]*$/u;
const NON_ASCII_DIGIT = /\p{Nd}/u;

const CARD_MIN_DIGITS = 13;
const CARD_MAX_DIGITS = 19;

const digitValues = new Map<string, string>();
/**
 * The ASCII value of a Unicode decimal digit. Unicode keeps each script's digits 0-9 in consecutive
 * code points, and adjacent blocks (the mathematical digits) start at a zero, so the value is the
 * distance from the start of the run of digits modulo 10.
 */
function digitValue(ch: string): string {
  let v = digitValues.get(ch);
  if (v === undefined) {
    const cp = ch.codePointAt(0) ?? 0;
    let zero = cp;
    while (zero > 0 && NON_ASCII_DIGIT.test(String.fromCodePoint(zero - 1))) zero--;
    v = String((cp - zero) % 10);
    digitValues.set(ch, v);
  }
  return v;
}

/** NFKC, then every Unicode decimal digit as its ASCII digit (NFKC leaves e.g. Arabic-Indic digits alone). */
export function normaliseDigits(text: string): string {
  return text.normalize('NFKC').replace(/[^\p{ASCII}]+/gu, (chunk) => chunk.replace(/\p{Nd}/gu, digitValue));
}

/** Whether the text cannot hold 13 digits: plain ASCII with fewer than 13 digits (the common case). */
function tooFewDigits(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return false;
    if (c >= 0x30 && c <= 0x39 && ++digits >= CARD_MIN_DIGITS) return false;
  }
  return true;
}

function isCardRun(run: string): boolean {
  if (run.length < CARD_MIN_DIGITS) return false;
  const digits = run.replace(/[^0-9]/g, '');
  return digits.length >= CARD_MIN_DIGITS && digits.length <= CARD_MAX_DIGITS && isValidLuhn(digits);
}

/** Whether a text holds a card number anywhere (each run of digits and separators judged whole). */
export function containsCardNumber(text: string): boolean {
  if (tooFewDigits(text)) return false;
  const ascii = ASCII_ONLY.test(text);
  const runs = ascii ? text.match(ASCII_RUN) : normaliseDigits(text).match(RUN);
  return (runs ?? []).some(isCardRun);
}

/**
 * The text with every card number replaced by `mask` (for log lines and echoes of a URL). A text
 * without one comes back unchanged; one with a card number comes back normalised (NFKC, ASCII digits).
 */
export function maskCardNumbers(text: string, mask = '[card number]'): string {
  if (!containsCardNumber(text)) return text;
  return normaliseDigits(text).replace(RUN, (run) => (isCardRun(run) ? mask : run));
}

/** Every request part the screen reads, named as validation errors name them. */
export type RequestPart = 'body' | 'query' | 'params' | 'headers';

const isPhoneNumber = (v: string) => {
  try {
    normalizePhoneNumber(v);
    return true;
  } catch {
    return false;
  }
};
const digits = (min: number, max: number) => (v: string) => new RegExp(`^[0-9]{${min},${max}}$`).test(v);
/**
 * Ids this service hands out: a prefix and 20 or 32 hex digits (random hex can hold a Luhn-valid run).
 * Every prefix the service issues is here: an ACH file id (`ach_`) was once missing, and about one
 * file in 250 could not be downloaded (its id held a Luhn-valid run of 13+ digits).
 */
export const OWN_ID_PREFIXES = ['enr', 'pay', 'inv', 'key', 'ntc', 'run', 'ach', 'achr'] as const;
const OWN_ID = new RegExp(`^(${OWN_ID_PREFIXES.join('|')})_[0-9a-f]{20,32}$`);
const ownId = (v: string) => OWN_ID.test(v);

/**
 * Fields whose format is fixed digits are checked by their own format instead: a value in that
 * format is never refused by the screen (a 16-digit bank account number can pass Luhn), while any
 * other value there is screened like free text. A field is named by its full path, so an unknown
 * field of the same name elsewhere is still screened.
 */
export const FIXED_FORMAT_FIELDS: readonly { what: string; paths: RegExp; valid: (value: string) => boolean }[] = [
  {
    what: 'Member ID',
    paths: /^(body|query|params)\.memberId$|^body\.(items\[\d+\]\.)?remittance\.memberId$/,
    valid: digits(12, 12),
  },
  { what: 'routing number', paths: /^body\.bankAccount\.routingNumber$/, valid: digits(9, 9) },
  { what: 'bank account number', paths: /^body\.bankAccount\.accountNumber$/, valid: digits(4, 17) },
  { what: 'phone number', paths: /^(body|query)\.phoneNumber$|^body\.phoneNumbers\[\d+\]$/, valid: isPhoneNumber },
  { what: 'check number', paths: /^body\.(check|items\[\d+\])\.checkNumber$/, valid: digits(1, 15) },
  {
    what: 'money order serial number',
    paths: /^body\.(moneyOrder|items\[\d+\])\.serialNumber$/,
    valid: (v) => /^[A-Za-z]{0,4}-?[0-9]{1,15}$/.test(v),
  },
  // R33: the layout of our scan lines (22 digits in three groups: too long to be a card number anyway).
  { what: 'scan line', paths: /^body\.items\[\d+\]\.scanLine$/, valid: (v) => /^\d{10} \d{11} \d$/.test(v) },
  { what: 'invoice number', paths: /^body\.(slip\.)?invoiceNumber$/, valid: digits(10, 10) },
  { what: 'scan line', paths: /^body\.slip\.scanLine$/, valid: (v) => new RegExp(SCAN_LINE_PATTERN).test(v) },
  { what: 'id of ours', paths: /^params\.id$|^(body|query)\.enrollmentId$/, valid: ownId },
  // R36: a return file's records are fixed digits and spaces; any other text body is still screened.
  { what: 'Nacha file', paths: /^body$/, valid: looksLikeNachaFile },
  {
    // The key the API recommends; random hex can hold a Luhn-valid run of digits across its dashes.
    what: 'UUID Idempotency-Key',
    paths: /^headers\.idempotency-key$/,
    valid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  },
];

function exempt(path: string, value: string): boolean {
  return FIXED_FORMAT_FIELDS.some((f) => f.paths.test(path) && f.valid(value));
}

function refuse(field: string): never {
  throw new DomainError(
    'card_number_not_allowed',
    `A full card number was sent in ${field}. Card payments carry the processor token, brand, last 4 digits and expiry only.`,
    { field },
  );
}

/**
 * Refuses (422 `card_number_not_allowed`, naming the field, never the value) a request in which any
 * text value or object key, at any depth and in any part, holds a card number. Integers are read as
 * their digits too. The walk uses its own stack, so no nesting depth can overflow it.
 */
export function assertNoCardNumber(parts: readonly (readonly [RequestPart, unknown])[]): void {
  const stack: [string, unknown][] = parts.map(([part, value]) => [part, value] as [string, unknown]).reverse();
  while (stack.length > 0) {
    const [path, value] = stack.pop() as [string, unknown];
    if (typeof value === 'string') {
      if (containsCardNumber(value) && !exempt(path, value)) refuse(path);
    } else if (typeof value === 'number') {
      if (Number.isSafeInteger(value) && containsCardNumber(String(Math.abs(value)))) refuse(path);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([`${path}[${i}]`, value[i]]);
    } else if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      for (const [key] of entries) if (containsCardNumber(key)) refuse(path);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, v] = entries[i] as [string, unknown];
        stack.push([`${path}.${key}`, v]);
      }
    }
  }
}
