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
const SCAN_LINE = new RegExp(SCAN_LINE_PATTERN);

/**
 * R33: what a scan line says, or null when it is not one: not digits and single spaces in the
 * scan line's shape (no trimming), or a check digit that fails (a misread digit or a swap).
 */
export function parseScanLine(line: string): { invoiceNumber: string; amountCents: number } | null {
  if (!SCAN_LINE.test(line)) return null;
  const [invoiceNumber, amount, check] = line.split(' ') as [string, string, string];
  if (luhnCheckDigit(invoiceNumber + amount) !== Number(check)) return null;
  return { invoiceNumber, amountCents: Number(amount) };
}

/**
 * R33: a scan line as the lockbox read it: its invoice number and amount when it has the layout of
 * ours (10 digits, 11 digits, one check digit, single spaces) and its Luhn check digit holds; else
 * why not. A scan line that fails never matches automatically.
 */
export function readScanLine(
  line: string,
): { invoiceNumber: string; amountCents: number } | 'unreadable' | 'check_digit' {
  const m = /^(\d{10}) (\d{11}) (\d)$/.exec(line);
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
