import { Type } from 'typebox';
import { LOCKBOX_MATCHES, LOCKBOX_METHODS, LOCKBOX_NOTES, LOCKBOX_OUTCOMES } from '../../domain/lockbox.js';
import { SCAN_LINE_AS_READ_PATTERN } from '../../domain/numbers.js';
import { Cents, CentsOrZero, CentsSum, Closed, IsoDate, Name, Nullable, StringEnum } from './common.js';
import { RemittanceSchema } from './payments.js';

/** The largest deposit one request may carry (the lockbox's batches are smaller; R34 asks for 5,000). */
export const MAX_DEPOSIT_ITEMS = 10_000;
/** The route's own body limit: 10,000 items with full remittances fit (the global limit stays small). */
export const DEPOSIT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

const DepositId = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$',
  description: "The lockbox's id of the deposit: letters, digits, `.`, `_`, `:` and `-`",
  examples: ['LBX-2026-12-10-001'],
});

const Total = Closed({ count: Type.Integer({ minimum: 0 }), totalCents: CentsSum() });
const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const LockboxItemSchema = Closed({
  sequence: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    description: "The item's number in the deposit, once each",
  }),
  method: literals(LOCKBOX_METHODS),
  amountCents: Cents(),
  checkNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 30, description: 'A check carries it' })),
  serialNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 30, description: 'A money order carries it' })),
  payableTo: Name(200, {
    description: 'The payee as written; anything but "Health Connector" is returned to the sender',
  }),
  scanLine: Type.Optional(
    Type.String({
      maxLength: 64,
      pattern: SCAN_LINE_AS_READ_PATTERN,
      description: "The slip's scan line as read (digits and single spaces, R33)",
      examples: ['1000000017 00000045000 3'],
    }),
  ),
  remittance: Type.Optional(RemittanceSchema),
});

export const LockboxDepositSchema = Closed(
  {
    depositId: DepositId,
    depositDate: IsoDate('The business date the lockbox deposited the items: their receipt date (R2)'),
    items: Type.Array(LockboxItemSchema, { minItems: 1, maxItems: MAX_DEPOSIT_ITEMS }),
    control: Closed({
      itemCount: Type.Integer({ minimum: 1, maximum: MAX_DEPOSIT_ITEMS }),
      totalCents: CentsSum('The sum of the items’ amounts', 1),
    }),
  },
  {
    examples: [
      {
        depositId: 'LBX-2026-12-10-001',
        depositDate: '2026-12-10',
        items: [
          {
            sequence: 1,
            method: 'check',
            amountCents: 45000,
            checkNumber: '1042',
            payableTo: 'Health Connector',
            scanLine: '1000000017 00000045000 3',
          },
          {
            sequence: 2,
            method: 'money_order',
            amountCents: 3000,
            serialNumber: 'MO-20931',
            payableTo: 'Health Connector',
            remittance: {
              memberId: '100200300400',
              firstName: 'Maria',
              lastName: 'Santos',
              carrierName: 'Blue Cross Blue Shield of Massachusetts',
            },
          },
        ],
        control: { itemCount: 2, totalCents: 48000 },
      },
    ],
  },
);

export const LockboxReconciliationSchema = Closed({
  depositId: Type.String(),
  depositDate: Type.String({ format: 'date' }),
  recordedAt: Type.String({ format: 'date-time' }),
  control: Closed({ itemCount: Type.Integer(), totalCents: Type.Integer() }),
  totals: Closed(
    { applied: Total, unapplied: Total, returnedToSender: Total },
    { description: 'Per outcome; they add up to the control totals' },
  ),
  items: Type.Array(
    Closed({
      sequence: Type.Integer(),
      method: StringEnum(LOCKBOX_METHODS),
      amountCents: Type.Integer(),
      outcome: StringEnum(LOCKBOX_OUTCOMES),
      paymentId: Nullable(Type.String(), { description: 'Null for an item returned to the sender' }),
      matchedBy: Nullable(Type.String(), { enum: [...LOCKBOX_MATCHES, null] }),
      enrollmentId: Nullable(Type.String()),
      appliedCents: CentsOrZero('Applied to invoices'),
      creditedCents: CentsOrZero('Kept as credit on the enrollment (R24)'),
      notes: Type.Array(StringEnum(LOCKBOX_NOTES), { description: 'Why the item did not match the first way' }),
    }),
  ),
});

export const DepositParams = Closed({ depositId: DepositId });
