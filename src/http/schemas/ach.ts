import { Type } from 'typebox';
import { RETURN_FILE_WARNING_CODES } from '../../domain/nachaReturnChecks.js';
import { Closed, Instant, IsoDate, Nullable, StringEnum } from './common.js';

const RETURN_OUTCOMES = ['returned', 'already_returned', 'unknown_trace', 'duplicate_in_file'] as const;

export const CreateAchFileBody = Closed(
  {
    effectiveDate: Type.Optional(
      IsoDate(
        'The effective entry date: a business day (R3) after today, at most 30 days ahead. Default: the next business day.',
      ),
    ),
  },
  { description: 'Send no body, `{}`, or an effective date.', examples: [{ effectiveDate: '2026-12-07' }] },
);

const achFileProperties = {
  id: Type.String(),
  createdAt: Instant(),
  createdBy: Type.String({ description: 'The API key id that created the file' }),
  effectiveDate: IsoDate(),
  fileIdModifier: Type.String({ description: 'A-Z then 0-9: the n-th file of the day' }),
  entryCount: Type.Integer({ minimum: 1 }),
  batchCount: Type.Integer({ minimum: 1, maximum: 2 }),
  totalDebitCents: Type.Integer({ minimum: 1 }),
  entryHash: Type.String({ pattern: '^\\d{10}$' }),
  downloads: Type.Array(Closed({ apiKeyId: Type.String(), downloadedAt: Instant() }), {
    description: 'Every download of the file: who (API key id) and when',
  }),
};

const achFileExample = {
  id: 'ach_0a1b2c3d4e5f60718293a4b5c6d7e8f9',
  createdAt: '2026-12-04T20:00:00.000Z',
  createdBy: 'key_4e5f60718293a4b5c6d7e8f9',
  effectiveDate: '2026-12-07',
  fileIdModifier: 'A',
  entryCount: 2,
  batchCount: 2,
  totalDebitCents: 48000,
  entryHash: '0004200004',
  downloads: [{ apiKeyId: 'key_4e5f60718293a4b5c6d7e8f9', downloadedAt: '2026-12-04T20:05:00.000Z' }],
};

export const AchFileSchema = Closed(achFileProperties, { examples: [achFileExample] });

export const CreatedAchFileSchema = Closed(
  {
    ...achFileProperties,
    pendingAfter: Type.Integer({
      minimum: 0,
      description:
        'Pending bank payments that did not fit this file (12-digit totals, 100,000 entries) and wait for the next one',
    }),
  },
  { examples: [{ ...achFileExample, pendingAfter: 0 }] },
);

export const AchFileText = {
  description:
    'The Nacha file: 94-character records, blocking factor 10. It holds full account numbers: keep it as you keep the bank credentials.',
  content: {
    'text/plain': {
      schema: { type: 'string' },
      example: '101 011000015100000000026120415001A094101TEST ODFI              HEALTH CONNECTOR               \n...',
    },
  },
};

export const ReturnFileBody = {
  description:
    'A Nacha return file (`text/plain`): return entries with `99` addenda, notifications of change with `98` addenda.',
  required: true,
  content: {
    'text/plain': {
      schema: { type: 'string', minLength: 1 },
      example: '101 011000015 0210000212612071200A094101HEALTH CONNECTOR       FEDERAL RESERVE                \n...',
    },
  },
};

export const ReturnFileResultSchema = Closed(
  {
    id: Type.String({ description: 'The return file as recorded (the same id when the same file is sent again)' }),
    receivedAt: Instant(),
    firstReceivedAt: Instant(),
    repeat: Type.Boolean({
      description: 'This very file was received before: every return in it was applied then, nothing changed now',
    }),
    returns: Type.Array(
      Closed({
        traceNumber: Type.String({ description: 'The original entry trace number' }),
        reasonCode: Type.String({ pattern: '^R\\d\\d$' }),
        returnTraceNumber: Type.String(),
        paymentId: Nullable(Type.String()),
        outcome: StringEnum(RETURN_OUTCOMES, {
          description:
            '`returned`: applied now as R25; `already_returned`: the payment was returned before (by the manual endpoint, an earlier file, or this file sent again); `unknown_trace`: no payment has this trace number; `duplicate_in_file`: the trace number came earlier in this file',
        }),
      }),
    ),
    notificationsOfChange: Type.Array(
      Closed({
        traceNumber: Type.String(),
        changeCode: Type.String({ pattern: '^C\\d\\d$' }),
        paymentId: Nullable(Type.String()),
        corrected: Closed(
          {
            routingNumber: Type.Optional(Type.String()),
            accountLast4: Type.Optional(Type.String()),
            transactionCode: Type.Optional(Type.String()),
          },
          { description: 'What the bank says to use from now on; account numbers by their last 4 digits only' },
        ),
      }),
    ),
    warnings: Type.Array(
      Closed({
        code: StringEnum(RETURN_FILE_WARNING_CODES, {
          description:
            "`entry_amount_mismatch`: a return's amount differs from the amount of our entry (both in the message, in cents; the whole payment is returned all the same, R25); `unexpected_transaction_code`: not 26 for our checking debit (27), not 36 for our savings debit (37), or for an unknown trace not the return of a debit at all (21 returns a credit); `batch_control_mismatch`: a batch control record (8) disagrees with its batch (entry/addenda count, entry hash, debit or credit total); `file_control_mismatch`: the file control record (9) disagrees with the file (batch count, block count, entry/addenda count, entry hash, totals); `missing_batch_header`, `missing_batch_control`, `missing_file_control`: a record the format requires is not there",
        }),
        message: Type.String({ description: 'What disagrees, with both values; never an account number' }),
        line: Type.Optional(Type.Integer({ minimum: 1, description: 'The record the warning is about (1-based)' })),
        traceNumber: Type.Optional(
          Type.String({ description: 'The original entry trace number the warning is about' }),
        ),
      }),
      {
        description:
          'What the file gets wrong, for ops to look at: integrity is reported, never enforced (returns are matched by trace number and applied as R36 says). Empty when the file is clean; a repeated file answers the warnings recorded when it was first received.',
      },
    ),
  },
  {
    examples: [
      {
        id: 'achr_9f8e7d6c5b4a39281706f5e4d3c2b1a0',
        receivedAt: '2026-12-08T14:00:00.000Z',
        firstReceivedAt: '2026-12-08T14:00:00.000Z',
        repeat: false,
        returns: [
          {
            traceNumber: '011000010000001',
            reasonCode: 'R01',
            returnTraceNumber: '021000020000001',
            paymentId: 'pay_5f0c3c1e9b7d4a0e8a1f2b3c4d5e6f70',
            outcome: 'returned',
          },
        ],
        notificationsOfChange: [
          {
            traceNumber: '011000010000002',
            changeCode: 'C01',
            paymentId: 'pay_6a1d4d2f0c8e5b1f9b2a3c4d5e6f7a81',
            corrected: { accountLast4: '7788' },
          },
        ],
        warnings: [
          {
            code: 'entry_amount_mismatch',
            message:
              'The return of trace 011000010000001 is for 1 cent; our entry was for 45000 cents. The whole payment was returned (R25).',
            line: 7,
            traceNumber: '011000010000001',
          },
        ],
      },
    ],
  },
);
