/**
 * R36 with the review's finding R3: the integrity of a return file, checked and reported, never
 * enforced. Returns are matched by trace number and applied as R25 whatever these checks find (other
 * systems' test files written from the SPEC may carry zero amounts or zero control totals); ops get
 * the findings as `warnings` (docs/decisions.md, "ACH return files: warn, do not reject").
 *
 * Warnings name lines, trace numbers, codes and amounts in cents: never an account number.
 */

export const RETURN_FILE_WARNING_CODES = [
  'entry_amount_mismatch',
  'unexpected_transaction_code',
  'batch_control_mismatch',
  'file_control_mismatch',
  'missing_batch_header',
  'missing_batch_control',
  'missing_file_control',
] as const;
export type ReturnFileWarningCode = (typeof RETURN_FILE_WARNING_CODES)[number];

export interface ReturnFileWarning {
  code: ReturnFileWarningCode;
  message: string;
  /** The record the warning is about (1-based), when there is one. */
  line?: number;
  /** The original entry trace number, for a warning about one return or notification of change. */
  traceNumber?: string;
}

/** A return entry or a notification of change as the file carries it (`parseReturnFile`). */
export interface ReturnedEntry {
  originalTraceNumber: string;
  /** The entry detail record's transaction code (positions 2-3). */
  transactionCode: string;
  /** The entry's amount (positions 30-39); null when the field is not 10 digits. */
  amountCents: number | null;
  /** The line of the entry detail record. */
  entryLine: number;
  /** Set for a return (`R..`), absent for a notification of change (whose amount is always zero). */
  reasonCode?: string;
}

/** What we originated under a trace number (R35: 27 checking, 37 savings; the payment's amount). */
export interface OriginalEntry {
  amountCents: number;
  method: 'checking' | 'savings';
}

const cents = (n: number) => `${n} ${n === 1 ? 'cent' : 'cents'}`;

/** R35/R36: the return (or notification of change) of our checking debit (27) is 26, of a savings debit (37) 36. */
export function returnTransactionCode(method: 'checking' | 'savings'): '26' | '36' {
  return method === 'checking' ? '26' : '36';
}

/**
 * Each return entry against the entry we originated under its trace number: the amount (a real
 * return carries the amount it returns; R25 reverses the whole payment, so a different amount is
 * worth a look) and the transaction code (26 for a 27, 36 for a 37; anything else, such as 21, the
 * return of a credit, is not the return of our debit). A trace we do not know is checked for its
 * code only: we originate debits only, so its code is 26 or 36. A notification of change is checked
 * for its code only (its amount is zero by rule). In file order.
 */
export function checkReturnEntries(
  entries: readonly ReturnedEntry[],
  originals: ReadonlyMap<string, OriginalEntry>,
): ReturnFileWarning[] {
  const out: ReturnFileWarning[] = [];
  for (const e of entries) {
    const original = originals.get(e.originalTraceNumber);
    const what = e.reasonCode ? 'return' : 'notification of change';
    const at = { line: e.entryLine, traceNumber: e.originalTraceNumber };
    if (original) {
      const expected = returnTransactionCode(original.method);
      if (e.transactionCode !== expected) {
        const ours = original.method === 'checking' ? '27' : '37';
        out.push({
          code: 'unexpected_transaction_code',
          message: `The ${what} of trace ${e.originalTraceNumber} carries transaction code ${e.transactionCode}; our entry was a ${ours} (${original.method} debit), whose ${what}s carry ${expected}.`,
          ...at,
        });
      }
      if (e.reasonCode && e.amountCents !== original.amountCents) {
        out.push({
          code: 'entry_amount_mismatch',
          message:
            e.amountCents === null
              ? `The return of trace ${e.originalTraceNumber} has an amount that is not a number; our entry was for ${cents(original.amountCents)}. The whole payment was returned (R25).`
              : `The return of trace ${e.originalTraceNumber} is for ${cents(e.amountCents)}; our entry was for ${cents(original.amountCents)}. The whole payment was returned (R25).`,
          ...at,
        });
      }
    } else if (e.transactionCode !== '26' && e.transactionCode !== '36') {
      out.push({
        code: 'unexpected_transaction_code',
        message: `The ${what} of trace ${e.originalTraceNumber} carries transaction code ${e.transactionCode}, which is not the ${what} of a debit (26 checking, 36 savings); we originate debits only.`,
        ...at,
      });
    }
  }
  return inFileOrder(out);
}

interface Totals {
  count: number;
  hash: bigint;
  debit: number;
  credit: number;
}

const zero = (): Totals => ({ count: 0, hash: 0n, debit: 0, credit: 0 });
const HASH_MODULUS = 10_000_000_000n;
const hashText = (h: bigint) => (h % HASH_MODULUS).toString().padStart(10, '0');
const digits = (field: string) => (/^\d+$/.test(field) ? Number(field) : null);
const shown = (field: string) => (/^\d+$/.test(field) ? String(Number(field)) : JSON.stringify(field));
const shownCents = (field: string) => {
  const n = digits(field);
  return n === null ? JSON.stringify(field) : cents(n);
};

/** Adds an entry detail record (positions as Nacha lays them out) to a batch's or the file's totals. */
function addEntry(t: Totals, record: string): void {
  t.count++;
  const rdfi = record.slice(3, 11);
  if (/^\d{8}$/.test(rdfi)) t.hash += BigInt(rdfi);
  const amount = digits(record.slice(29, 39)) ?? 0;
  // Nacha: a transaction code whose second digit is 5..9 is a debit (26, 27, 36, 37), 1..4 a credit.
  const kind = record.charAt(2);
  if (kind >= '5' && kind <= '9') t.debit += amount;
  else if (kind >= '1' && kind <= '4') t.credit += amount;
}

/** The fields of a control record that disagree with what the records say, as "field X (the batch has Y)". */
function disagreements(
  fields: {
    name: string;
    field: string;
    actual: number | string;
    show: (f: string) => string;
    fmt: (v: number | string) => string;
  }[],
  where: string,
): string[] {
  const out: string[] = [];
  for (const f of fields) {
    const claimed = typeof f.actual === 'string' ? f.field : digits(f.field);
    if (claimed !== f.actual) out.push(`${f.name} ${f.show(f.field)} (the ${where} has ${f.fmt(f.actual)})`);
  }
  return out;
}

const plain = (v: number | string) => String(v);
const asCents = (v: number | string) => cents(Number(v));

/**
 * The file's structure and control records, against its own records: each batch control (`8`: entry
 * and addenda count, entry hash, debit and credit totals) against its batch, the file control (`9`:
 * batch count, block count, entry and addenda count, entry hash, totals) against the whole file, and
 * the `8` and `9` records being there at all. Records of only 9s are padding; records after the file
 * control are counted with the file, so a return appended after it shows as a disagreement. Called by
 * `parseReturnFile` on records it has already found to be 94 printable characters.
 */
export function checkReturnFileControls(records: readonly string[]): ReturnFileWarning[] {
  const out: ReturnFileWarning[] = [];
  const file = zero();
  let batches = 0;
  /** The batch being read: where it started and its totals so far. */
  const state: { batch: { line: number; totals: Totals } | null } = { batch: null };
  let fileControl: { line: number; record: string } | null = null;
  const open = (line: number): Totals => {
    batches++;
    state.batch = { line, totals: zero() };
    return state.batch.totals;
  };
  const closeWithoutControl = () => {
    if (!state.batch) return;
    out.push({
      code: 'missing_batch_control',
      message: `The batch that starts on line ${state.batch.line} has no batch control record (8).`,
      line: state.batch.line,
    });
    state.batch = null;
  };
  /** The batch a record belongs to; a record outside any batch is warned and opens one. */
  const current = (n: number, what: string): Totals => {
    if (state.batch) return state.batch.totals;
    out.push({
      code: 'missing_batch_header',
      message: `${what} on line ${n} is outside any batch: no batch header record (5) comes before it.`,
      line: n,
    });
    return open(n);
  };
  for (const [i, record] of records.entries()) {
    const n = i + 1;
    const type = record.charAt(0);
    if (type === '5') {
      closeWithoutControl();
      open(n);
    } else if (type === '6') {
      addEntry(current(n, 'The entry detail record'), record);
      addEntry(file, record);
    } else if (type === '7') {
      current(n, 'The addenda record').count++;
      file.count++;
    } else if (type === '8') {
      const b = current(n, 'The batch control record');
      const wrong = disagreements(
        [
          { name: 'entry/addenda count', field: record.slice(4, 10), actual: b.count, show: shown, fmt: plain },
          { name: 'entry hash', field: record.slice(10, 20), actual: hashText(b.hash), show: (f) => f, fmt: plain },
          { name: 'total debit', field: record.slice(20, 32), actual: b.debit, show: shownCents, fmt: asCents },
          { name: 'total credit', field: record.slice(32, 44), actual: b.credit, show: shownCents, fmt: asCents },
        ],
        'batch',
      );
      if (wrong.length > 0) {
        out.push({
          code: 'batch_control_mismatch',
          message: `The batch control record on line ${n} disagrees with its batch: ${wrong.join(', ')}.`,
          line: n,
        });
      }
      state.batch = null;
    } else if (type === '9' && !/^9+$/.test(record)) {
      closeWithoutControl();
      // Records after it (another file appended) still count: its totals then disagree.
      fileControl ??= { line: n, record };
    }
  }
  if (!fileControl) {
    closeWithoutControl();
    out.push({ code: 'missing_file_control', message: 'The file has no file control record (9).' });
    return out;
  }
  const { line, record } = fileControl;
  // Block count: the file's records, padding included, in blocks of 10.
  const blocks = Math.ceil(records.length / 10);
  const wrong = disagreements(
    [
      { name: 'batch count', field: record.slice(1, 7), actual: batches, show: shown, fmt: plain },
      { name: 'block count', field: record.slice(7, 13), actual: blocks, show: shown, fmt: plain },
      { name: 'entry/addenda count', field: record.slice(13, 21), actual: file.count, show: shown, fmt: plain },
      { name: 'entry hash', field: record.slice(21, 31), actual: hashText(file.hash), show: (f) => f, fmt: plain },
      { name: 'total debit', field: record.slice(31, 43), actual: file.debit, show: shownCents, fmt: asCents },
      { name: 'total credit', field: record.slice(43, 55), actual: file.credit, show: shownCents, fmt: asCents },
    ],
    'file',
  );
  if (wrong.length > 0) {
    out.push({
      code: 'file_control_mismatch',
      message: `The file control record on line ${line} disagrees with the file: ${wrong.join(', ')}.`,
      line,
    });
  }
  return out;
}

/** Warnings in file order (by line; those without a line last), stable otherwise. */
export function inFileOrder(warnings: readonly ReturnFileWarning[]): ReturnFileWarning[] {
  const at = (w: ReturnFileWarning) => w.line ?? Number.MAX_SAFE_INTEGER;
  return [...warnings].sort((a, b) => at(a) - at(b));
}
