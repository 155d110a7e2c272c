/**
 * An independent Nacha reader and a return-file writer for the ACH tests (R35, R36). Written from the
 * Nacha record layouts, not from src/domain/nacha.ts: the checks trust none of the code under test.
 */

export interface ReadEntry {
  transactionCode: string;
  routing: string;
  account: string;
  amountCents: number;
  individualId: string;
  individualName: string;
  discretionary: string;
  addenda: string;
  trace: string;
}

export interface ReadBatch {
  serviceClass: string;
  companyName: string;
  companyId: string;
  secCode: string;
  description: string;
  effectiveDate: string;
  odfi: string;
  batchNumber: number;
  entries: ReadEntry[];
  control: { count: number; hash: string; debit: number; credit: number; companyId: string; batchNumber: number };
}

export interface ReadFile {
  lines: string[];
  header: {
    priority: string;
    destination: string;
    origin: string;
    date: string;
    time: string;
    modifier: string;
    recordSize: string;
    blocking: string;
    format: string;
    destinationName: string;
    originName: string;
  };
  batches: ReadBatch[];
  control: { batches: number; blocks: number; entries: number; hash: string; debit: number; credit: number };
  padding: number;
}

const at = (line: string, from: number, to: number) => line.slice(from - 1, to);
const n = (line: string, from: number, to: number) => Number(at(line, from, to));

/** Reads a Nacha file by column positions; throws on anything out of place. */
export function readNacha(text: string): ReadFile {
  if (!text.endsWith('\n')) throw new Error('file does not end with a line break');
  const lines = text.slice(0, -1).split('\n');
  const h = lines[0] ?? '';
  if (h[0] !== '1') throw new Error('no file header');
  const file: ReadFile = {
    lines,
    header: {
      priority: at(h, 2, 3),
      destination: at(h, 4, 13),
      origin: at(h, 14, 23),
      date: at(h, 24, 29),
      time: at(h, 30, 33),
      modifier: at(h, 34, 34),
      recordSize: at(h, 35, 37),
      blocking: at(h, 38, 39),
      format: at(h, 40, 40),
      destinationName: at(h, 41, 63),
      originName: at(h, 64, 86),
    },
    batches: [],
    control: { batches: 0, blocks: 0, entries: 0, hash: '', debit: 0, credit: 0 },
    padding: 0,
  };
  let batch: ReadBatch | null = null;
  let sawControl = false;
  for (const line of lines.slice(1)) {
    if (sawControl) {
      if (line !== '9'.repeat(94)) throw new Error('only 9s may follow the file control');
      file.padding++;
      continue;
    }
    switch (line[0]) {
      case '5':
        if (batch) throw new Error('batch header inside a batch');
        batch = {
          serviceClass: at(line, 2, 4),
          companyName: at(line, 5, 20),
          companyId: at(line, 41, 50),
          secCode: at(line, 51, 53),
          description: at(line, 54, 63),
          effectiveDate: at(line, 70, 75),
          odfi: at(line, 80, 87),
          batchNumber: n(line, 88, 94),
          entries: [],
          control: { count: 0, hash: '', debit: 0, credit: 0, companyId: '', batchNumber: 0 },
        };
        break;
      case '6':
        if (!batch) throw new Error('entry outside a batch');
        batch.entries.push({
          transactionCode: at(line, 2, 3),
          routing: at(line, 4, 12),
          account: at(line, 13, 29).trimEnd(),
          amountCents: n(line, 30, 39),
          individualId: at(line, 40, 54).trimEnd(),
          individualName: at(line, 55, 76).trimEnd(),
          discretionary: at(line, 77, 78),
          addenda: at(line, 79, 79),
          trace: at(line, 80, 94),
        });
        break;
      case '8':
        if (!batch) throw new Error('batch control outside a batch');
        batch.control = {
          count: n(line, 5, 10),
          hash: at(line, 11, 20),
          debit: n(line, 21, 32),
          credit: n(line, 33, 44),
          companyId: at(line, 45, 54),
          batchNumber: n(line, 88, 94),
        };
        file.batches.push(batch);
        batch = null;
        break;
      case '9':
        file.control = {
          batches: n(line, 2, 7),
          blocks: n(line, 8, 13),
          entries: n(line, 14, 21),
          hash: at(line, 22, 31),
          debit: n(line, 32, 43),
          credit: n(line, 44, 55),
        };
        sawControl = true;
        break;
      default:
        throw new Error(`unexpected record ${JSON.stringify(line.slice(0, 1))}`);
    }
  }
  if (!sawControl) throw new Error('no file control');
  return file;
}

/** The entry hash as Nacha defines it, computed here independently. */
export function hashOf(routings: string[]): string {
  const sum = routings.reduce((s, r) => s + BigInt(r.slice(0, 8)), 0n);
  return String(sum).slice(-10).padStart(10, '0');
}

const pad = (v: string, len: number) => v.padEnd(len, ' ').slice(0, len);
const zeros = (v: number | string, len: number) => String(v).padStart(len, '0');

export interface ReturnItem {
  /** The trace number of the entry we originated. */
  originalTrace: string;
  /** `R01`.. (a return, `99` addenda) or `C01`.. (a notification of change, `98` addenda). */
  code: string;
  /** The receiver's account; by default the original entry's (with `original`), else `12345678`. */
  account?: string;
  routing?: string;
  /**
   * The return entry's amount. By default the original entry's (a real return carries the amount it
   * returns; with `original`); a notification of change is always 0. A return whose amount is known
   * neither way is refused here, so no test sends a made-up amount by accident.
   */
  amountCents?: number;
  /** By default the return of the original entry's code: 26 for a 27 (checking debit), 36 for a 37. */
  transactionCode?: string;
  /** Corrected data of a notification of change (29 characters). */
  corrected?: string;
}

export interface ReturnFileOptions {
  /** The origination file the returns answer (its text as downloaded, or as read): amounts, codes, accounts. */
  original?: string | ReadFile;
}

/** Nacha: a transaction code whose second digit is 5..9 is a debit (27, 26, 37, 36), 1..4 a credit. */
const isDebitCode = (code: string) => /^\d[5-9]$/.test(code);

/**
 * A return file as an RDFI's operator would send it back: a COR batch for changes, a return batch for
 * the rest, with true batch and file control records (entry/addenda counts, entry hashes, debit and
 * credit totals, batch and block counts) whatever the items say.
 */
export function returnFile(items: ReturnItem[], options: ReturnFileOptions = {}): string {
  const original = typeof options.original === 'string' ? readNacha(options.original) : options.original;
  const originals = new Map((original?.batches ?? []).flatMap((b) => b.entries.map((e) => [e.trace, e] as const)));
  const lines: string[] = [];
  lines.push(
    `101 011000015 0210000212612041200A094101${pad('HEALTH CONNECTOR', 23)}${pad('FEDERAL RESERVE', 23)}${pad('', 8)}`,
  );
  let trace = 1;
  let batches = 0;
  const all: { routing: string; amountCents: number; transactionCode: string }[] = [];
  const batch = (sec: string, list: ReturnItem[]) => {
    if (list.length === 0) return;
    const number = ++batches;
    lines.push(
      `5225${pad('HEALTH CONNECTOR', 16)}${pad('', 20)}1000000000${sec}${pad('PREMIUM', 10)}${pad('', 6)}261207${pad('', 3)}1${'02100002'}${zeros(number, 7)}`,
    );
    const written: typeof all = [];
    for (const item of list) {
      const own = `02100002${zeros(trace++, 7)}`;
      const isChange = item.code.startsWith('C');
      const from = originals.get(item.originalTrace);
      const amountCents = isChange ? 0 : (item.amountCents ?? from?.amountCents);
      if (amountCents === undefined) {
        throw new Error(`returnFile: no amount for ${item.originalTrace}: give amountCents or the original file`);
      }
      const transactionCode =
        item.transactionCode ?? (from ? String(Number(from.transactionCode) - 1).padStart(2, '0') : '26');
      const routing = (item.routing ?? '011000015').slice(0, 9);
      written.push({ routing, amountCents, transactionCode });
      lines.push(
        `6${transactionCode}${routing}${pad(item.account ?? from?.account ?? '12345678', 17)}${zeros(amountCents, 10)}${pad('100000000001', 15)}${pad('ANA LOPES', 22)}  1${own}`,
      );
      lines.push(
        isChange
          ? `798${item.code}${item.originalTrace}${pad('', 6)}01100001${pad(item.corrected ?? '', 29)}${pad('', 15)}${own}`
          : `799${item.code}${item.originalTrace}${pad('', 6)}01100001${pad('', 44)}${own}`,
      );
    }
    lines.push(`8225${controlTotals(written, 6)}1000000000${pad('', 25)}02100002${zeros(number, 7)}`);
    all.push(...written);
  };
  batch(
    'COR',
    items.filter((i) => i.code.startsWith('C')),
  );
  batch(
    'WEB',
    items.filter((i) => i.code.startsWith('R')),
  );
  const blocks = Math.ceil((lines.length + 1) / 10);
  lines.push(`9${zeros(batches, 6)}${zeros(blocks, 6)}${controlTotals(all, 8)}${pad('', 39)}`);
  while (lines.length % 10 !== 0) lines.push('9'.repeat(94));
  for (const l of lines) if (l.length !== 94) throw new Error(`test return record of ${l.length}: ${l}`);
  return `${lines.join('\n')}\n`;
}

/** Entry/addenda count (each return entry has one addenda), entry hash, debit and credit totals. */
function controlTotals(
  entries: { routing: string; amountCents: number; transactionCode: string }[],
  countWidth: number,
) {
  const debit = entries.filter((e) => isDebitCode(e.transactionCode)).reduce((s, e) => s + e.amountCents, 0);
  const credit = entries.filter((e) => !isDebitCode(e.transactionCode)).reduce((s, e) => s + e.amountCents, 0);
  return `${zeros(entries.length * 2, countWidth)}${hashOf(entries.map((e) => e.routing))}${zeros(debit, 12)}${zeros(credit, 12)}`;
}
