import anyAscii from 'any-ascii';
import type { BusinessCalendar } from './calendar.js';
import { addDays, BUSINESS_TIME_ZONE, businessDateOf, type IsoDate, isIsoDate } from './dates.js';
import { DomainError } from './errors.js';
import { checkReturnFileControls, type ReturnedEntry, type ReturnFileWarning } from './nachaReturnChecks.js';
import { MAX_ACH_ENTRY_CENTS } from './numbers.js';

/**
 * The Nacha file format, written once (docs/decisions.md, "ACH files"): pure formatting of an
 * origination file (R35) and parsing of a return file (R36). Records are 94 characters, the
 * blocking factor is 10 (the last block padded with records of 9s).
 */
export const RECORD_LENGTH = 94;
export const BLOCKING_FACTOR = 10;
export const COMPANY_NAME = 'HEALTH CONNECTOR';
export const ENTRY_DESCRIPTION = 'PREMIUM';

export type SecCode = 'WEB' | 'TEL';
export type DebitTransactionCode = '27' | '37';

/** Who sends the file and to whom (configuration, ACH_* variables). */
export interface NachaOrigin {
  /** The ODFI's 9-digit routing number (the bank we send the file to). */
  immediateDestination: string;
  immediateDestinationName: string;
  /** 10 characters, as the ODFI assigned them (often "1" + the EIN). */
  immediateOrigin: string;
  immediateOriginName: string;
  /** The company identification in batch headers (10 characters). */
  companyId: string;
}

export interface NachaDebit {
  secCode: SecCode;
  transactionCode: DebitTransactionCode;
  routingNumber: string;
  accountNumber: string;
  amountCents: number;
  /** The Member ID. */
  individualId: string;
  individualName: string;
  traceNumber: string;
}

export interface NachaFileInput {
  origin: NachaOrigin;
  createdAt: Date;
  fileIdModifier: string;
  effectiveDate: IsoDate;
  entries: readonly NachaDebit[];
}

export interface NachaBatchSummary {
  batchNumber: number;
  secCode: SecCode;
  entryCount: number;
  totalDebitCents: number;
  entryHash: string;
}

export interface NachaFile {
  text: string;
  lineCount: number;
  batches: NachaBatchSummary[];
  entryCount: number;
  totalDebitCents: number;
  entryHash: string;
}

/** R35: the SEC code of a bank payment: `WEB` online, `TEL` phone. */
export function secCodeOf(channel: 'online' | 'phone'): SecCode {
  return channel === 'online' ? 'WEB' : 'TEL';
}

/** R35: debit transaction code: 27 checking, 37 savings. */
export function debitTransactionCode(method: 'checking' | 'savings'): DebitTransactionCode {
  return method === 'checking' ? '27' : '37';
}

/** R35: a trace number: the ODFI's 8-digit routing prefix and a 7-digit sequence number. */
export function traceNumber(odfiRouting: string, sequence: number): string {
  if (!Number.isInteger(sequence) || sequence < 1 || sequence > 9_999_999) {
    throw new RangeError('trace sequence must be 1..9999999');
  }
  return `${odfiRouting.slice(0, 8)}${String(sequence).padStart(7, '0')}`;
}

/** R35: the entry hash: the sum of the 8-digit RDFI routing prefixes, its rightmost 10 digits. */
export function entryHash(routingNumbers: readonly string[]): string {
  let sum = 0n;
  for (const r of routingNumbers) sum += BigInt(r.slice(0, 8));
  return (sum % 10_000_000_000n).toString().padStart(10, '0');
}

/** Nacha alphanumeric fields: upper-case ASCII letters, digits and a few signs; accents dropped. */
export function nachaText(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^A-Z0-9 .,'&/-]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * R35: the entry's individual name. Nacha fields hold upper-case ASCII, so a name in another script
 * is transliterated (any-ascii: `Ωμέγα` -> `OMEGA`, `山田` -> `SHANTIAN`); a name with nothing left
 * after that is sent as the Member ID, never blank.
 */
export function individualName(firstName: string, lastName: string, memberId: string): string {
  const name = nachaText(anyAscii(`${firstName} ${lastName}`.normalize('NFKC')));
  return name === '' ? memberId : name;
}

function alpha(value: string, length: number): string {
  return nachaText(value).slice(0, length).padEnd(length, ' ');
}

/** A left-justified field kept as it is (account numbers, identifiers). */
function left(value: string, length: number): string {
  if (value.length > length) throw new RangeError(`field longer than ${length}`);
  return value.padEnd(length, ' ');
}

function num(value: number | bigint | string, length: number): string {
  const text = String(value);
  if (!/^\d+$/.test(text) || text.length > length) throw new RangeError(`numeric field ${text} does not fit ${length}`);
  return text.padStart(length, '0');
}

/** YYMMDD and HHMM of an instant in the business time zone. */
function creationStamp(at: Date): { date: string; time: string } {
  const date = businessDateOf(at, BUSINESS_TIME_ZONE).replaceAll('-', '').slice(2);
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: BUSINESS_TIME_ZONE,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const hour = parts.find((p) => p.type === 'hour')?.value ?? '00';
  const minute = parts.find((p) => p.type === 'minute')?.value ?? '00';
  return { date, time: `${hour}${minute}` };
}

function fileHeader(input: NachaFileInput): string {
  const o = input.origin;
  const stamp = creationStamp(input.createdAt);
  return [
    '1',
    '01',
    ` ${num(o.immediateDestination, 9)}`,
    o.immediateOrigin.padStart(10, ' '),
    stamp.date,
    stamp.time,
    input.fileIdModifier,
    '094',
    '10',
    '1',
    alpha(o.immediateDestinationName, 23),
    alpha(o.immediateOriginName, 23),
    ' '.repeat(8),
  ].join('');
}

function batchHeader(input: NachaFileInput, secCode: SecCode, batchNumber: number): string {
  const o = input.origin;
  return [
    '5',
    '225',
    alpha(COMPANY_NAME, 16),
    ' '.repeat(20),
    left(o.companyId, 10),
    secCode,
    alpha(ENTRY_DESCRIPTION, 10),
    ' '.repeat(6),
    input.effectiveDate.replaceAll('-', '').slice(2),
    '   ',
    '1',
    o.immediateDestination.slice(0, 8),
    num(batchNumber, 7),
  ].join('');
}

function entryDetail(e: NachaDebit): string {
  return [
    '6',
    e.transactionCode,
    e.routingNumber.slice(0, 8),
    e.routingNumber.slice(8, 9),
    left(e.accountNumber, 17),
    num(e.amountCents, 10),
    left(e.individualId, 15),
    alpha(e.individualName, 22),
    'S ',
    '0',
    num(e.traceNumber, 15),
  ].join('');
}

function batchControl(input: NachaFileInput, b: NachaBatchSummary): string {
  return [
    '8',
    '225',
    num(b.entryCount, 6),
    b.entryHash,
    num(b.totalDebitCents, 12),
    num(0, 12),
    left(input.origin.companyId, 10),
    ' '.repeat(19),
    ' '.repeat(6),
    input.origin.immediateDestination.slice(0, 8),
    num(b.batchNumber, 7),
  ].join('');
}

/**
 * R35: the origination file: one batch per SEC code (`WEB` first, then `TEL`), entries in the order
 * given (trace numbers ascending within a batch, as Nacha wants), debit totals and entry hashes per
 * batch and for the file, blocking factor 10 padded with 9s.
 */
export function buildNachaFile(input: NachaFileInput): NachaFile {
  if (input.entries.length === 0) throw new RangeError('a Nacha file needs at least one entry');
  if (!/^[A-Z0-9]$/.test(input.fileIdModifier)) throw new RangeError('file id modifier must be A-Z or 0-9');
  const lines: string[] = [fileHeader(input)];
  const batches: NachaBatchSummary[] = [];
  for (const secCode of ['WEB', 'TEL'] as const) {
    const entries = input.entries.filter((e) => e.secCode === secCode);
    if (entries.length === 0) continue;
    const batch: NachaBatchSummary = {
      batchNumber: batches.length + 1,
      secCode,
      entryCount: entries.length,
      totalDebitCents: entries.reduce((s, e) => s + e.amountCents, 0),
      entryHash: entryHash(entries.map((e) => e.routingNumber)),
    };
    lines.push(batchHeader(input, secCode, batch.batchNumber));
    for (const e of entries) lines.push(entryDetail(e));
    lines.push(batchControl(input, batch));
    batches.push(batch);
  }
  const entryCount = input.entries.length;
  const totalDebitCents = batches.reduce((s, b) => s + b.totalDebitCents, 0);
  const hash = entryHash(input.entries.map((e) => e.routingNumber));
  const recordCount = lines.length + 1;
  const blockCount = Math.ceil(recordCount / BLOCKING_FACTOR);
  lines.push(
    [
      '9',
      num(batches.length, 6),
      num(blockCount, 6),
      num(entryCount, 8),
      hash,
      num(totalDebitCents, 12),
      num(0, 12),
      ' '.repeat(39),
    ].join(''),
  );
  while (lines.length % BLOCKING_FACTOR !== 0) lines.push('9'.repeat(RECORD_LENGTH));
  for (const [i, line] of lines.entries()) {
    if (line.length !== RECORD_LENGTH) throw new Error(`record ${i + 1} is ${line.length} characters`);
  }
  return {
    text: `${lines.join('\n')}\n`,
    lineCount: lines.length,
    batches,
    entryCount,
    totalDebitCents,
    entryHash: hash,
  };
}

const FILE_ID_MODIFIERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * R35: the file id modifier of the n-th file (0-based) created on one day: A..Z, then 0..9. The
 * bank tells files of one day apart by it, so a 37th file that day is refused (422
 * `ach_file_limit_reached`); its payments wait for the next day's first file.
 */
export function fileIdModifier(filesBeforeToday: number): string {
  if (filesBeforeToday >= FILE_ID_MODIFIERS.length) {
    throw new DomainError(
      'ach_file_limit_reached',
      `${FILE_ID_MODIFIERS.length} files were created today (File ID Modifiers A-Z and 0-9); the next file can be created tomorrow.`,
    );
  }
  return FILE_ID_MODIFIERS.charAt(filesBeforeToday);
}

/** The 12-digit batch and file debit totals: a file never holds more than this. */
export const MAX_FILE_TOTAL_CENTS = 999_999_999_999;
/** Entries per file: far below the 6-digit block count and batch entry count of the format. */
export const MAX_FILE_ENTRIES = 100_000;

/**
 * R35 within the format's limits: the pending payments one file takes, in the order given, up to
 * 12-digit totals and MAX_FILE_ENTRIES; the rest waits for the next file (`left`). A payment that
 * could never fit one entry (more than 10 digits; refused when posted since the limit exists) is
 * left out too, so one payment never stops every file. Nothing pending: 422 `nothing_to_originate`.
 */
export function selectForFile<T extends { amountCents: number }>(pending: readonly T[]): { chosen: T[]; left: number } {
  if (pending.length === 0) {
    throw new DomainError('nothing_to_originate', 'Every bank payment is already in an ACH file.');
  }
  const chosen: T[] = [];
  let total = 0;
  for (const p of pending) {
    if (chosen.length >= MAX_FILE_ENTRIES) break;
    if (p.amountCents > MAX_ACH_ENTRY_CENTS || total + p.amountCents > MAX_FILE_TOTAL_CENTS) continue;
    chosen.push(p);
    total += p.amountCents;
  }
  if (chosen.length === 0) {
    throw new DomainError('nothing_to_originate', 'No pending bank payment fits an ACH entry.');
  }
  return { chosen, left: pending.length - chosen.length };
}

/** How far ahead ops may date a file. */
export const MAX_EFFECTIVE_DAYS_AHEAD = 30;

/**
 * R35 with R3: the effective entry date. By default the next business day after today's business
 * date; a date ops gives must be a business day after today, at most 30 days ahead (a debit cannot
 * settle in the past, and banks settle on business days only).
 */
export function effectiveDateFor(requested: string | undefined, now: Date, calendar: BusinessCalendar): IsoDate {
  const today = businessDateOf(now);
  const earliest = calendar.addBusinessDays(today, 1);
  if (requested === undefined) return earliest;
  const latest = addDays(today, MAX_EFFECTIVE_DAYS_AHEAD);
  if (!isIsoDate(requested) || requested <= today || requested > latest || !calendar.isBusinessDay(requested)) {
    throw new DomainError(
      'invalid_effective_date',
      `The effective date must be a business day after today (${today}), at most ${MAX_EFFECTIVE_DAYS_AHEAD} days ahead.`,
      { earliestEffectiveDate: earliest, latestEffectiveDate: latest },
    );
  }
  return requested;
}

export interface AchDownload {
  apiKeyId: string;
  downloadedAt: Date;
}

/** An ACH file as it is listed (never its body). */
export interface AchFileRecord {
  id: string;
  createdAt: Date;
  createdBy: string;
  effectiveDate: IsoDate;
  fileIdModifier: string;
  entryCount: number;
  batchCount: number;
  totalDebitCents: number;
  entryHash: string;
  downloads: AchDownload[];
}

/** A bank payment waiting to go out, as the store reads it (account number decrypted). */
export interface PendingDebit {
  paymentId: string;
  channel: 'online' | 'phone';
  method: 'checking' | 'savings';
  amountCents: number;
  routingNumber: string;
  accountNumber: string;
  memberId: string;
  firstName: string;
  lastName: string;
}

/**
 * R35 as one decision: every pending bank payment becomes one debit entry (SEC code by channel,
 * transaction code by account type, Member ID and name), trace numbers are handed out in file
 * order (so they ascend within each batch), and the file is built. Nothing pending: 422
 * `nothing_to_originate`.
 */
export function originate(input: {
  pending: readonly PendingDebit[];
  traceSequences: readonly number[];
  origin: NachaOrigin;
  createdAt: Date;
  fileIdModifier: string;
  effectiveDate: IsoDate;
}): { file: NachaFile; entries: { paymentId: string; traceNumber: string }[] } {
  if (input.pending.length === 0) {
    throw new DomainError('nothing_to_originate', 'Every bank payment is already in an ACH file.');
  }
  if (input.traceSequences.length !== input.pending.length) throw new RangeError('one trace sequence per entry');
  const ordered = [
    ...input.pending.filter((p) => p.channel === 'online'),
    ...input.pending.filter((p) => p.channel === 'phone'),
  ];
  const debits = ordered.map((p, i): NachaDebit & { paymentId: string } => ({
    paymentId: p.paymentId,
    secCode: secCodeOf(p.channel),
    transactionCode: debitTransactionCode(p.method),
    routingNumber: p.routingNumber,
    accountNumber: p.accountNumber,
    amountCents: p.amountCents,
    individualId: p.memberId,
    individualName: individualName(p.firstName, p.lastName, p.memberId),
    traceNumber: traceNumber(input.origin.immediateDestination, input.traceSequences[i] as number),
  }));
  const file = buildNachaFile({
    origin: input.origin,
    createdAt: input.createdAt,
    fileIdModifier: input.fileIdModifier,
    effectiveDate: input.effectiveDate,
    entries: debits,
  });
  return { file, entries: debits.map((d) => ({ paymentId: d.paymentId, traceNumber: d.traceNumber })) };
}

// --- Return files (R36) ---

/** What the entry detail record of a return or a notification of change says (checked, not enforced). */
type EntryFields = Pick<ReturnedEntry, 'transactionCode' | 'amountCents' | 'entryLine'>;

export interface NachaReturn extends EntryFields {
  /** The trace number of the entry we originated (the addenda's original entry trace number). */
  originalTraceNumber: string;
  /** `R01`..`R99`. */
  reasonCode: string;
  /** The return entry's own trace number (the RDFI's). */
  returnTraceNumber: string;
  /** The line of the `99` addenda record. */
  line: number;
}

export interface NachaChangeNotice extends EntryFields {
  originalTraceNumber: string;
  /** `C01`..`C99`. */
  changeCode: string;
  /** What the corrected data names, with account numbers cut to their last 4 digits. */
  corrected: { routingNumber?: string; accountLast4?: string; transactionCode?: string };
  line: number;
}

export interface ParsedReturnFile {
  returns: NachaReturn[];
  notices: NachaChangeNotice[];
  /** What the file's structure and control records get wrong (`checkReturnFileControls`): reported, never refused. */
  warnings: ReturnFileWarning[];
}

function invalid(line: number, problem: string): DomainError {
  return new DomainError('invalid_nacha_file', `Line ${line}: ${problem}.`, { line });
}

const last4 = (digits: string) => digits.trim().slice(-4);

/** The parts of a notification of change's corrected data (29 characters) by change code. */
function correctedData(code: string, data: string): NachaChangeNotice['corrected'] {
  switch (code) {
    case 'C01':
      return { accountLast4: last4(data.slice(0, 17)) };
    case 'C02':
      return { routingNumber: data.slice(0, 9).trim() };
    case 'C03':
      return { routingNumber: data.slice(0, 9).trim(), accountLast4: last4(data.slice(12, 29)) };
    case 'C05':
      return { transactionCode: data.slice(0, 2).trim() };
    case 'C06':
      return { accountLast4: last4(data.slice(0, 17)), transactionCode: data.slice(20, 22).trim() };
    case 'C07':
      return {
        routingNumber: data.slice(0, 9).trim(),
        accountLast4: last4(data.slice(9, 26)),
        transactionCode: data.slice(26, 28).trim(),
      };
    default:
      return {};
  }
}

/** True when the text has the shape of a Nacha file (94-character printable records), for the card screen. */
export function looksLikeNachaFile(text: string): boolean {
  const records = nachaRecords(text);
  return records.length > 0 && records.every((r) => /^[\x20-\x7e]{94}$/.test(r));
}

/**
 * A Nacha file's records as tools write them: a leading byte-order mark dropped, CRLF, LF or CR
 * line ends, blanks after a record's 94 characters and blank lines at the end ignored (a record's
 * own trailing blanks, such as the file control's 39, are kept). The file's identity for R36's
 * repeats is these records joined by LF.
 */
export function nachaRecords(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  while (lines.length > 0 && /^[ \t]*$/.test(lines.at(-1) as string)) lines.pop();
  return lines.map((l) =>
    l.length > RECORD_LENGTH && /^[ \t]+$/.test(l.slice(RECORD_LENGTH)) ? l.slice(0, RECORD_LENGTH) : l,
  );
}

/**
 * R36: the return entries (entry detail records with their `99` addenda: reason code, original
 * trace number) and notifications of change (`98` addenda) of a Nacha return file. Any record that
 * is not 94 characters, or an entry whose addenda is missing or malformed, makes the whole file
 * invalid (`invalid_nacha_file`, naming the line, never its content). Missing or disagreeing batch
 * and file control records are not: they are `warnings` (SPEC R36 matches by trace number alone).
 */
export function parseReturnFile(text: string): ParsedReturnFile {
  const lines = nachaRecords(text);
  const out: ParsedReturnFile = { returns: [], notices: [], warnings: [] };
  if (lines.length === 0 || lines[0] === '') throw invalid(1, 'the file is empty');
  let pendingEntry: (EntryFields & { line: number; trace: string }) | null = null;
  for (const [i, record] of lines.entries()) {
    const n = i + 1;
    if (record.length !== RECORD_LENGTH)
      throw invalid(n, `a record is ${RECORD_LENGTH} characters, this one ${record.length}`);
    if (!/^[\x20-\x7e]+$/.test(record)) throw invalid(n, 'a record holds printable ASCII only');
    const type = record.charAt(0);
    if (n === 1 && type !== '1') throw invalid(n, 'a file starts with its file header (record type 1)');
    if (pendingEntry && type !== '7')
      throw invalid(pendingEntry.line, 'the entry announces an addenda record that does not follow');
    if (type === '6') {
      if (record.charAt(78) !== '1') throw invalid(n, 'a return entry carries an addenda record (indicator 1)');
      const amount = record.slice(29, 39);
      pendingEntry = {
        line: n,
        trace: record.slice(79, 94),
        transactionCode: record.slice(1, 3),
        amountCents: /^\d{10}$/.test(amount) ? Number(amount) : null,
        entryLine: n,
      };
    } else if (type === '7') {
      if (!pendingEntry) throw invalid(n, 'an addenda record follows no entry');
      const addendaType = record.slice(1, 3);
      const code = record.slice(3, 6);
      const original = record.slice(6, 21);
      if (!/^\d{15}$/.test(original)) throw invalid(n, 'the original entry trace number is 15 digits');
      if (addendaType === '99') {
        if (!/^R\d\d$/.test(code) || code === 'R00') throw invalid(n, 'a return reason code is R01..R99');
        out.returns.push({
          originalTraceNumber: original,
          reasonCode: code,
          returnTraceNumber: pendingEntry.trace,
          line: n,
          transactionCode: pendingEntry.transactionCode,
          amountCents: pendingEntry.amountCents,
          entryLine: pendingEntry.entryLine,
        });
      } else if (addendaType === '98') {
        if (!/^C\d\d$/.test(code) || code === 'C00') throw invalid(n, 'a change code is C01..C99');
        out.notices.push({
          originalTraceNumber: original,
          changeCode: code,
          corrected: correctedData(code, record.slice(35, 64)),
          line: n,
          transactionCode: pendingEntry.transactionCode,
          amountCents: pendingEntry.amountCents,
          entryLine: pendingEntry.entryLine,
        });
      } else {
        throw invalid(n, 'a return file entry carries a 99 (return) or 98 (notification of change) addenda');
      }
      pendingEntry = null;
    } else if (!['1', '5', '8', '9'].includes(type)) {
      throw invalid(n, `unknown record type ${JSON.stringify(type)}`);
    }
  }
  if (pendingEntry) throw invalid(pendingEntry.line, 'the entry announces an addenda record that does not follow');
  out.warnings = checkReturnFileControls(lines);
  return out;
}

export type ReturnOutcome = 'returned' | 'already_returned' | 'unknown_trace' | 'duplicate_in_file';

/**
 * R36: what each return of a file does before anything is written: a trace number seen earlier in
 * the same file is `duplicate_in_file`; an unknown trace `unknown_trace`; a payment already returned
 * `already_returned`; otherwise the payment is returned as R25 says (`returned`, decided there).
 */
export function classifyReturns(
  returns: readonly NachaReturn[],
  payments: ReadonlyMap<string, { id: string; returned: boolean }>,
): { item: NachaReturn; paymentId: string | null; outcome: ReturnOutcome }[] {
  const seen = new Set<string>();
  return returns.map((item) => {
    const payment = payments.get(item.originalTraceNumber) ?? null;
    const paymentId = payment?.id ?? null;
    if (seen.has(item.originalTraceNumber)) return { item, paymentId, outcome: 'duplicate_in_file' };
    seen.add(item.originalTraceNumber);
    if (!payment) return { item, paymentId, outcome: 'unknown_trace' };
    return { item, paymentId, outcome: payment.returned ? 'already_returned' : 'returned' };
  });
}
