import { Type } from 'typebox';
import { CHANNELS, PAYMENT_METHODS } from '../../domain/channels.js';
import { SCAN_LINE_PATTERN } from '../../domain/numbers.js';
import { CARD_BRANDS, CARD_TOKEN_PATTERN, PAYMENT_STATUSES } from '../../domain/payment.js';
import { MemberId } from './billing.js';
import { Cents, CentsOrZero, Closed, Instant, Name, Nullable, PageQuery, StringEnum } from './common.js';

/** Request fields: a union of literals (typed for the handlers). Responses use `StringEnum`. */
const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Text = (max: number, extra: Record<string, unknown> = {}) =>
  Type.String({ minLength: 1, maxLength: max, ...extra });

export const Channel = literals(CHANNELS);
export const Method = literals(PAYMENT_METHODS);

/**
 * R22: the remittance details written on a check that came without its slip (a single mail
 * payment's `remittance`, and a lockbox item's, R34): Member ID, subscriber first and last name,
 * mailing address if different, and the insurance company name.
 */
export const RemittanceSchema = Closed({
  memberId: Type.Optional(Type.String({ maxLength: 32 })),
  firstName: Type.Optional(Name(100)),
  lastName: Type.Optional(Name(100)),
  mailingAddress: Type.Optional(
    Closed({
      line1: Type.Optional(Type.String({ maxLength: 200 })),
      line2: Type.Optional(Type.String({ maxLength: 200 })),
      city: Type.Optional(Type.String({ maxLength: 100 })),
      state: Type.Optional(Type.String({ maxLength: 2 })),
      postalCode: Type.Optional(Type.String({ maxLength: 10 })),
    }),
  ),
  carrierName: Type.Optional(Name(200)),
});

export const PaymentRequestSchema = Closed(
  {
    channel: Channel,
    method: Method,
    amountCents: Cents(),
    receivedAt: Type.Optional(Instant('When the money arrived (mail: the lockbox date); default: now')),
    guest: Type.Optional(Type.Boolean({ description: 'Online only: paid without signing in' })),
    invoiceNumber: Type.Optional(Text(32, { examples: ['1000000017'] })),
    enrollmentId: Type.Optional(Text(100)),
    memberId: Type.Optional(Type.String({ pattern: '^[0-9]{12}$', description: 'Phone only' })),
    phoneNumber: Type.Optional(Text(25, { description: 'Phone only: a phone number on the account' })),
    slip: Type.Optional(
      Type.Union(
        [
          Closed({ invoiceNumber: Text(32) }),
          Closed({
            scanLine: Type.String({
              pattern: SCAN_LINE_PATTERN,
              description:
                "The bill's scan line as the lockbox reads it (R33): invoice number, amount due in cents, Luhn check digit. It pays the invoice only when its check digit holds and its amount is the invoice's amount due; otherwise the payment is kept unapplied for ops.",
              examples: ['1000000008 00000045012 2'],
            }),
          }),
        ],
        { description: 'The payment slip from the bill: its invoice number, or its scan line' },
      ),
    ),
    remittance: Type.Optional({
      ...RemittanceSchema,
      description:
        'Mail without a slip: the remittance details written on the check (all four of Member ID, names and carrier, else 422 `remittance_incomplete`). With a `slip.scanLine` they are used only when the scan line does not match (R33/R34: scan line, else remittance, else unapplied).',
    }),
    bankAccount: Type.Optional(
      Closed({
        routingNumber: Type.String({ pattern: '^\\d{9}$', examples: ['011000015'] }),
        accountNumber: Type.String({ pattern: '^\\d{4,17}$', description: 'Stored encrypted; shown as last 4 only' }),
      }),
    ),
    card: Type.Optional(
      Closed({
        token: Type.String({
          pattern: CARD_TOKEN_PATTERN,
          maxLength: 200,
          description: "The card processor's token (prefix, underscore, letters and digits); never a card number",
          examples: ['tok_visa_4242'],
        }),
        brand: literals(CARD_BRANDS),
        last4: Type.String({ pattern: '^\\d{4}$' }),
        expMonth: Type.Integer({ minimum: 1, maximum: 12 }),
        expYear: Type.Integer({ minimum: 2000, maximum: 2100 }),
      }),
    ),
    check: Type.Optional(Closed({ checkNumber: Text(30), payableTo: Name(200) })),
    moneyOrder: Type.Optional(Closed({ serialNumber: Text(30), payableTo: Name(200) })),
  },
  {
    examples: [
      {
        channel: 'online',
        method: 'checking',
        amountCents: 45000,
        invoiceNumber: '1000000017',
        bankAccount: { routingNumber: '011000015', accountNumber: '123456789' },
      },
      {
        channel: 'mail',
        method: 'check',
        amountCents: 45000,
        receivedAt: '2026-12-22T10:00:00-05:00',
        remittance: {
          memberId: '100200300400',
          firstName: 'Maria',
          lastName: 'Santos',
          carrierName: 'Blue Cross Blue Shield of Massachusetts',
        },
        check: { checkNumber: '1042', payableTo: 'Health Connector' },
      },
    ],
  },
);

export const PaymentSchema = Closed(
  {
    id: Type.String(),
    status: StringEnum(PAYMENT_STATUSES),
    channel: StringEnum(CHANNELS),
    method: StringEnum(PAYMENT_METHODS),
    amountCents: Type.Integer(),
    receivedAt: Instant(),
    memberId: Nullable(Type.String()),
    enrollmentId: Nullable(Type.String()),
    guest: Type.Boolean(),
    applications: Type.Array(
      Closed({
        invoiceId: Type.String(),
        amountCents: Type.Integer(),
        appliedAt: Instant(),
        reversedAt: Nullable(Instant()),
      }),
    ),
    creditedCents: CentsOrZero('Overpayment kept as credit on the enrollment'),
    unappliedCents: CentsOrZero('Mail money not yet matched to an invoice'),
    bankAccount: Type.Optional(Closed({ routingNumber: Type.String(), last4: Type.String() })),
    card: Type.Optional(
      Closed({ brand: Type.String(), last4: Type.String(), expMonth: Type.Integer(), expYear: Type.Integer() }),
    ),
    check: Type.Optional(Closed({ checkNumber: Type.String(), payableTo: Type.String() })),
    moneyOrder: Type.Optional(Closed({ serialNumber: Type.String(), payableTo: Type.String() })),
    returnedAt: Nullable(Instant()),
    returnReasonCode: Nullable(Type.String(), {
      description: 'R25/R36: the ACH return reason code (`R01`..`R99`) or `CHECK_RETURNED`',
    }),
    achFileId: Nullable(Type.String(), { description: 'R35: the ACH file this bank payment went out in' }),
    traceNumber: Nullable(Type.String(), { description: 'R35: its trace number in that file (15 digits)' }),
    createdAt: Instant(),
  },
  {
    examples: [
      {
        id: 'pay_5f0c3c1e9b7d4a0e8a1f2b3c4d5e6f70',
        status: 'received',
        channel: 'online',
        method: 'checking',
        amountCents: 45000,
        receivedAt: '2026-12-10T15:00:00.000Z',
        memberId: '100200300400',
        enrollmentId: 'enr_2b6f0a7c9d3e4f5a8b1c2d3e4f5a6b7c',
        guest: false,
        applications: [
          {
            invoiceId: 'inv_7d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a',
            amountCents: 45000,
            appliedAt: '2026-12-10T15:00:00.000Z',
            reversedAt: null,
          },
        ],
        creditedCents: 0,
        unappliedCents: 0,
        bankAccount: { routingNumber: '011000015', last4: '6789' },
        returnedAt: null,
        returnReasonCode: null,
        achFileId: 'ach_0a1b2c3d4e5f60718293a4b5c6d7e8f9',
        traceNumber: '011000010000042',
        createdAt: '2026-12-10T15:00:00.000Z',
      },
    ],
  },
);

export const PaymentsQuery = Closed({
  memberId: Type.Optional(MemberId),
  status: Type.Optional(literals(PAYMENT_STATUSES)),
  ...PageQuery,
});

export const ReturnBody = Closed(
  {
    reasonCode: Type.String({
      pattern: '^(R(0[1-9]|[1-9][0-9])|CHECK_RETURNED)$',
      description: 'ACH return code R01..R99, or CHECK_RETURNED for a bounced check or money order',
      examples: ['R01'],
    }),
    returnedAt: Type.Optional(Instant()),
  },
  { examples: [{ reasonCode: 'R01' }] },
);

export const ApplicationBody = Closed(
  {
    invoiceNumber: Type.Optional(Text(32, { description: 'Apply to this invoice (or give enrollmentId)' })),
    enrollmentId: Type.Optional(Text(100, { description: 'Apply to the oldest open invoices of this enrollment' })),
  },
  { examples: [{ invoiceNumber: '1000000017' }] },
);
