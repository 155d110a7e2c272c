/** Luhn (mod 10) check digit of a digit string: catches any single-digit error and most swaps. */
export function luhnCheckDigit(digits: string): number {
  if (!/^\d+$/.test(digits)) throw new RangeError('digits only');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function isValidLuhn(number: string): boolean {
  return /^\d{2,}$/.test(number) && luhnCheckDigit(number.slice(0, -1)) === Number(number.slice(-1));
}

/**
 * R18/R33 scan line, as the lockbox's OCR reads it: digits and single spaces only, the invoice
 * number, the amount due in cents (11 digits) and a final Luhn check digit over all the digits
 * before it: `1000000017 00000045000 3`.
 */
export function scanLine(invoiceNumber: string, amountCents: number): string {
  const amount = String(amountCents).padStart(11, '0');
  return `${invoiceNumber} ${amount} ${luhnCheckDigit(invoiceNumber + amount)}`;
}

/** The scan line's shape (R33): three groups of digits, one space between each, nothing else. */
export const SCAN_LINE_PATTERN = '^[0-9]{10} [0-9]{11} [0-9]$';
/** SCAN_LINE_PATTERN with its three groups. */
const SCAN_LINE = /^(\d{10}) (\d{11}) (\d)$/;
/** What the lockbox may send as a scan line (R34 items): digits and single spaces, at most 64 characters. */
export const SCAN_LINE_AS_READ_PATTERN = '^[0-9]+( [0-9]+)*$';
export const SCAN_LINE_AS_READ = /^(?=.{1,64}$)[0-9]+( [0-9]+)*$/;

/** R33: what a scan line says (`readScanLine`), or null when it does not read. */
export function parseScanLine(line: string): { invoiceNumber: string; amountCents: number } | null {
  const read = readScanLine(line);
  return typeof read === 'object' ? read : null;
}

/**
 * R33: a scan line as the lockbox read it: its invoice number and amount when it has the layout of
 * ours (10 digits, 11 digits, one check digit, single spaces) and its Luhn check digit holds; else
 * why not. A scan line that fails never matches automatically.
 */
export function readScanLine(
  line: string,
): { invoiceNumber: string; amountCents: number } | 'unreadable' | 'check_digit' {
  const m = SCAN_LINE.exec(line);
  if (!m?.[1] || !m[2] || !m[3]) return 'unreadable';
  if (luhnCheckDigit(m[1] + m[2]) !== Number(m[3])) return 'check_digit';
  return { invoiceNumber: m[1], amountCents: Number(m[2]) };
}

/** ABA routing number check (R20): 3-7-1 weighted sum divisible by 10. */
export function isValidRoutingNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const d = [...value].map(Number) as number[];
  const sum =
    3 * ((d[0] ?? 0) + (d[3] ?? 0) + (d[6] ?? 0)) +
    7 * ((d[1] ?? 0) + (d[4] ?? 0) + (d[7] ?? 0)) +
    ((d[2] ?? 0) + (d[5] ?? 0) + (d[8] ?? 0));
  return sum % 10 === 0;
}

/**
 * R35: a bank payment is one Nacha entry debit, whose amount field has 10 digits: at most
 * $99,999,999.99. A larger bank payment could never be originated, so it is refused when posted.
 */
export const MAX_ACH_ENTRY_CENTS = 9_999_999_999;
