import { Type } from 'typebox';
import { MEMBER_ID_PATTERN } from '../../domain/accounts.js';
import { DELINQUENCY_STAGES, SUBSIDIES } from '../../domain/delinquency.js';
import { COVERAGE_TYPES, ENROLLMENT_FLAGS, ENROLLMENT_STATUSES } from '../../domain/enrollment.js';
import { INVOICE_STATUSES } from '../../domain/invoice.js';
import {
  Cents,
  CentsOrZero,
  CentsSum,
  Closed,
  Instant,
  IsoDate,
  Name,
  Nullable,
  PageQuery,
  StringEnum,
} from './common.js';

/** Request fields: a union of literals (typed for the handlers). Responses use `StringEnum`. */
const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const MemberId = Type.String({
  pattern: MEMBER_ID_PATTERN,
  description: '12-digit Member ID',
  examples: ['100200300400'],
});
export const FirstOfMonth = (description: string) =>
  Type.String({ format: 'date', pattern: '^[12]\\d{3}-\\d{2}-01$', description, examples: ['2027-01-01'] });

const MailingAddress = Closed({
  line1: Type.String({ minLength: 1, maxLength: 200, examples: ['1 Ashburton Place'] }),
  line2: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  city: Type.String({ minLength: 1, maxLength: 100, examples: ['Boston'] }),
  state: Type.String({ pattern: '^[A-Z]{2}$', examples: ['MA'] }),
  postalCode: Type.String({ pattern: '^\\d{5}(-\\d{4})?$', examples: ['02108'] }),
});

export const CreateAccount = Closed(
  {
    memberId: MemberId,
    firstName: Name(100, { examples: ['Maria'] }),
    lastName: Name(100, { examples: ['Santos'] }),
    mailingAddress: MailingAddress,
    phoneNumbers: Type.Array(Type.String({ minLength: 7, maxLength: 25, examples: ['+16175550100'] }), {
      maxItems: 5,
      description: 'E.164; common formatting and 10-digit US numbers are normalised',
    }),
    paperless: Type.Optional(Type.Boolean({ default: false })),
  },
  {
    examples: [
      {
        memberId: '100200300400',
        firstName: 'Maria',
        lastName: 'Santos',
        mailingAddress: { line1: '1 Ashburton Place', city: 'Boston', state: 'MA', postalCode: '02108' },
        phoneNumbers: ['+16175550100'],
        paperless: false,
      },
    ],
  },
);

export const AccountSchema = Closed({
  memberId: MemberId,
  firstName: Type.String(),
  lastName: Type.String(),
  mailingAddress: MailingAddress,
  phoneNumbers: Type.Array(Type.String()),
  paperless: Type.Boolean(),
  createdAt: Instant(),
});

export const AccountsQuery = Closed({
  phoneNumber: Type.String({ minLength: 7, maxLength: 25, description: 'E.164 (normalised like on create)' }),
});
export const MemberParams = Closed({ memberId: MemberId });

export const Checkout = Closed(
  {
    memberId: MemberId,
    carrierId: Type.String({ minLength: 1, maxLength: 63, examples: ['bcbsma'] }),
    coverageType: literals(COVERAGE_TYPES),
    planName: Name(200, { examples: ['ConnectorCare Plan Type II'] }),
    monthlyPremiumCents: Cents('What the member owes each month'),
    coverageStart: Type.Optional(FirstOfMonth('Requested start; default: the earliest whose due date has not passed')),
    selectedAt: Type.Optional(Instant('When the member checked out; default: the service clock')),
    subsidy: Type.Optional(literals(SUBSIDIES)),
  },
  {
    examples: [
      {
        memberId: '100200300400',
        carrierId: 'bcbsma',
        coverageType: 'health',
        planName: 'ConnectorCare Plan Type II',
        monthlyPremiumCents: 45000,
        coverageStart: '2027-01-01',
      },
    ],
  },
);

const History = Closed({
  at: Instant(),
  type: StringEnum(['status_changed', 'coverage_start_moved', 'delinquency_changed'] as const),
  from: Nullable(Type.String()),
  to: Type.String(),
  reason: Nullable(Type.String()),
  actor: Type.String({
    description:
      'API key id, or "system". A carrier sees its own key id and other actors by role: "ops", "connector", "carrier" or "system".',
  }),
});

export const EnrollmentSchema = Closed({
  id: Type.String(),
  memberId: MemberId,
  carrierId: Type.String(),
  coverageType: StringEnum(COVERAGE_TYPES),
  planName: Type.String(),
  monthlyPremiumCents: Type.Integer(),
  status: StringEnum(ENROLLMENT_STATUSES),
  coverageStart: IsoDate('As of the service clock (R10)'),
  chosenCoverageStart: IsoDate('What the member chose at checkout'),
  paymentDueDate: IsoDate('Due date of the first month (R1)'),
  binderInvoiceId: Nullable(Type.String()),
  subscriber: Closed({ firstName: Type.String(), lastName: Type.String() }, { description: 'The primary subscriber' }),
  selectedAt: Instant(),
  paidInFullAt: Nullable(Instant()),
  confirmationExpectedBy: Nullable(IsoDate()),
  confirmationOverdue: Type.Boolean(),
  idCardExpectedBy: Nullable(IsoDate()),
  confirmedAt: Nullable(Instant()),
  carrierPolicyId: Nullable(Type.String()),
  cancelledAt: Nullable(Instant()),
  creditCents: CentsSum(),
  flags: Type.Array(StringEnum(ENROLLMENT_FLAGS)),
  createdAt: Instant(),
  history: Type.Array(History),
  subsidy: StringEnum(SUBSIDIES, { description: 'R28: none, aptc or connectorcare' }),
  delinquency: Type.Union(
    [
      Closed({
        stage: StringEnum(DELINQUENCY_STAGES),
        firstUnpaidMonth: IsoDate('U, the anchor of the delinquency (R29)'),
        payBy: IsoDate('Pay every month owed by this date to cure'),
        amountOwedCents: CentsOrZero(),
        monthsOwed: Type.Array(IsoDate()),
      }),
      Type.Null(),
    ],
    { description: 'R29 as of the service clock; null in good standing' },
  ),
  coverageEnd: Nullable(IsoDate('R30: the last covered day, once terminated')),
  terminationReason: Nullable(Type.String({ examples: ['non_payment'] })),
  terminatedAt: Nullable(Instant()),
});

export const EnrollmentsQuery = Closed({
  memberId: Type.Optional(MemberId),
  status: Type.Optional(literals(ENROLLMENT_STATUSES)),
  carrierId: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  delinquency: Type.Optional(literals([...DELINQUENCY_STAGES, 'any'] as const)),
  ...PageQuery,
});

export const Cancellation = Closed(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Kept in the history' })) },
  { examples: [{ reason: 'member changed plans' }] },
);

const Slip = Closed({
  payableTo: Type.String({ examples: ['Health Connector'] }),
  mailTo: Closed({
    name: Type.String(),
    line1: Type.String(),
    city: Type.String(),
    state: Type.String(),
    postalCode: Type.String(),
  }),
  memberId: MemberId,
  subscriberName: Type.String(),
  carrierName: Type.String(),
  invoiceNumber: Type.String(),
  amountDueCents: Type.Integer(),
  scanLine: Type.String({ description: 'Invoice number, amount in cents (11 digits), Luhn check digit' }),
});

export const InvoiceSchema = Closed({
  id: Type.String(),
  invoiceNumber: Type.String({ pattern: '^\\d{10}$', description: '9 digits and a Luhn check digit' }),
  enrollmentId: Type.String(),
  memberId: MemberId,
  carrierId: Type.String(),
  coverageMonth: IsoDate('Always the 1st'),
  amountDueCents: Type.Integer(),
  amountPaidCents: Type.Integer({ description: 'Includes enrollment credit applied' }),
  balanceCents: Type.Integer(),
  creditAppliedCents: Type.Integer(),
  dueDate: IsoDate(),
  status: StringEnum(INVOICE_STATUSES),
  binder: Type.Boolean({ description: 'The first-month (binder) invoice of its enrollment' }),
  delivery: StringEnum(['paperless', 'mail'] as const),
  expectedDelivery: Type.Optional(Closed({ earliest: IsoDate(), latest: IsoDate() })),
  issuedAt: Instant(),
  voidedAt: Nullable(Instant()),
  paymentSlip: Slip,
});

export const InvoicesQuery = Closed({
  memberId: Type.Optional(MemberId),
  enrollmentId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  status: Type.Optional(literals(INVOICE_STATUSES)),
  ...PageQuery,
});

export const BillingRunBody = Closed(
  { coverageMonth: FirstOfMonth('The month to bill') },
  { examples: [{ coverageMonth: '2027-02-01' }] },
);
export const BillingRunSchema = Closed({
  id: Type.String(),
  coverageMonth: IsoDate(),
  dueDate: IsoDate(),
  issuedCount: Type.Integer({ description: 'Invoices issued by this run (0 when the month was already billed)' }),
  creditAppliedCents: Type.Integer(),
  failedCount: Type.Integer({
    description: 'Enrollments that could not be billed (logged by id); the others were. Run the month again to retry.',
  }),
  startedAt: Instant(),
  finishedAt: Instant(),
});

export const SweepSchema = Closed({
  enrollmentsMoved: Type.Integer({
    description: 'Pending enrollments whose missed binder deadlines were recorded (R10)',
  }),
  standingsRecorded: Type.Integer({
    description:
      'Enrollments whose non-payment standing changed and was recorded: a stage, a cure or a termination (R29, R30)',
  }),
  enrollmentsFailed: Type.Integer({
    description: 'Enrollments whose move could not be recorded (logged by id); the others were.',
  }),
  asOf: Instant(),
});
