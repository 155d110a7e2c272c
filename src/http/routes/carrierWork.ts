import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { type Static, Type } from 'typebox';
import { NON_PAYMENT_NOTICE_TYPES } from '../../domain/delinquency.js';
import type { EnrollmentProjection } from '../../domain/enrollment.js';
import { scopeOf } from '../../domain/principal.js';
import type { CarrierService } from '../../services/carriers.js';
import { principalOf } from '../plugins/auth.js';
import { answerWith } from '../plugins/idempotency.js';
import { EnrollmentSchema, MemberId } from '../schemas/billing.js';
import {
  CentsOrZero,
  Closed,
  described,
  IdParams,
  type IdParamsT,
  Instant,
  IsoDate,
  PageOf,
  PageQuery,
  problems,
  StringEnum,
} from '../schemas/common.js';
import { enrollmentView, eventView, noticeView, overdueView, pageView } from '../views.js';

const ConfirmationBody = Closed(
  {
    confirmedAt: Type.Optional(Instant('When the carrier confirmed; default: the service clock')),
    carrierPolicyId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, examples: ['BCBS-123456'] })),
  },
  { examples: [{ carrierPolicyId: 'BCBS-123456' }] },
);

const NOTICE_TYPES = ['welcome_letter', ...NON_PAYMENT_NOTICE_TYPES] as const;
const NoticeSchema = Closed({
  id: Type.String(),
  type: StringEnum(NOTICE_TYPES),
  memberId: MemberId,
  enrollmentId: Type.String(),
  status: StringEnum(['queued', 'sent'] as const),
  createdAt: Instant(),
  payBy: Type.Optional(IsoDate('R29: the stage pay-by date (non-payment notices only)')),
  amountOwedCents: Type.Optional(CentsOrZero('R29: owed by the pay-by date')),
  monthsOwed: Type.Optional(Type.Array(IsoDate(), { description: 'R29: the coverage months owed by then' })),
  coverageEnd: Type.Optional(IsoDate('R30: the last covered day (termination notices only)')),
});
const NoticesQuery = Closed({
  type: Type.Optional(Type.Union(NOTICE_TYPES.map((t) => Type.Literal(t)))),
  memberId: Type.Optional(MemberId),
  enrollmentId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  ...PageQuery,
});

const OverdueQuery = Closed({ carrierId: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })), ...PageQuery });
const OverdueSchema = Type.Object(
  { ...EnrollmentSchema.properties, businessDaysOverdue: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false, required: [...(EnrollmentSchema.required as string[]), 'businessDaysOverdue'] },
);

const EventSchema = Closed({
  id: Type.String(),
  type: Type.String({ examples: ['enrollment.awaiting_confirmation'] }),
  occurredAt: Instant(),
  data: Type.Record(Type.String(), Type.Unknown(), { description: 'Ids of what changed, and details' }),
});
const EventsQuery = Closed({
  after: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'The `nextCursor` of the previous poll' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});
const EventsPage = Closed({
  data: Type.Array(EventSchema),
  nextCursor: Type.String({ description: 'Never null: pass it as `after` on the next poll' }),
});

const confirmEnrollment = {
  config: { auth: ['carrier', 'ops'], idempotency: 'optional' },
  schema: {
    tags: ['carriers'],
    summary: 'Carrier confirms a paid enrollment; queues the Welcome Letter (R12). Repeating it is harmless.',
    description: [
      'The carrier confirms an enrollment whose binder is paid (`awaiting_confirmation`): it becomes `confirmed` with `confirmedAt` and the optional `carrierPolicyId`, a Welcome Letter notice is queued for the member and `enrollment.confirmed` goes on the events feed (R12).',
      'Confirming a confirmed enrollment again changes nothing and answers it as it is. Any other status is 409 `not_awaiting_confirmation`.',
      "A carrier may confirm only its own enrollments (another carrier's is 404). `confirmedAt` defaults to now, is never before `paidInFullAt` and at most 5 minutes in the future (422).",
      'An Idempotency-Key is optional: with one, a retry with the same body replays the first answer with `Idempotent-Replayed: true`.',
    ].join(' '),
    params: IdParams,
    body: ConfirmationBody,
    response: {
      200: described(EnrollmentSchema, 'The confirmed enrollment (a replay: the first answer)'),
      ...problems(400, {
        404: 'No enrollment with this id, or it belongs to another carrier (`not_found`).',
        409: 'The enrollment is not awaiting confirmation (`not_awaiting_confirmation`, with `currentState`).',
        422: '`confirmedAt` is before the binder was paid in full or in the future (`timestamp_out_of_range`, `timestamp_in_future`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

const listNotices = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['enrollments'],
    summary: 'Notices queued for members (Welcome Letters R12, non-payment notices R29-R30)',
    description:
      'Letters queued for members, oldest first: a `welcome_letter` is queued when the carrier confirms an enrollment (R12); the deadline sweep queues `past_due`, `termination_warning` and `final_termination_warning` as a delinquency reaches each stage (R29), with `payBy`, `amountOwedCents` and `monthsOwed`, and `termination` when coverage ends for non-payment (R30), with `coverageEnd` too. Filter by `type`, `memberId` and `enrollmentId`; paged with `limit` and `after`.',
    querystring: NoticesQuery,
    response: { 200: described(PageOf(NoticeSchema), 'A page of notices'), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const listOverdue = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'Enrollments still awaiting confirmation after confirmationExpectedBy (R12)',
    description:
      'Paid enrollments the carrier has not confirmed by `confirmationExpectedBy` (5 business days after full payment, R11), as of the service clock, each with `businessDaysOverdue`. Filter by `carrierId`; oldest first, paged with `limit` and `after`.',
    querystring: OverdueQuery,
    response: { 200: described(PageOf(OverdueSchema), 'A page of overdue enrollments'), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const readFeed = {
  config: { auth: ['connector', 'ops', 'carrier'] },
  schema: {
    tags: ['carriers'],
    summary: 'The events feed (R27): follow nextCursor; never misses or repeats an event',
    description:
      "Every change other systems care about (enrollment status changes, payments received and returned, flags), in commit order (R27). Start without `after`, then pass each answer's `nextCursor` (never null) as `after`: a poller that follows it never misses an event and never sees one twice. Carriers see `enrollment.*` and `payment.returned` events of their own enrollments. A page that is not full (an empty one too) returns a cursor at or after the one given: it may move past events the caller may not see, never past one it may see and has not been shown. Supports If-None-Match (304 when nothing changed). A cursor this feed did not hand out is 400 `invalid_cursor`.",
    querystring: EventsQuery,
    response: {
      200: described(EventsPage, 'A page of events and the cursor for the next poll'),
      ...problems({
        400: 'The query breaks the schema (`validation_failed`), or `after` is not a cursor of this feed (`invalid_cursor`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

/** What carriers do (confirm, poll the feed) and what follows from it (notices, the overdue report). */
export default async function carrierWorkRoutes(app: FastifyInstance, opts: { carriers: CarrierService }) {
  app.post<{ Params: IdParamsT; Body: Static<typeof ConfirmationBody> }>(
    '/v1/enrollments/:id/confirmation',
    confirmEnrollment,
    async (request, reply) => {
      const viewer = principalOf(request);
      const b = request.body ?? {};
      const input = {
        confirmedAt: b.confirmedAt ? new Date(b.confirmedAt) : undefined,
        carrierPolicyId: b.carrierPolicyId,
      };
      const call = request.idempotent(answerWith(200, (e: EnrollmentProjection) => enrollmentView(e, viewer)));
      return reply.answer(await opts.carriers.confirm(request.params.id, input, viewer, call));
    },
  );

  app.get<{ Querystring: Static<typeof NoticesQuery> }>('/v1/notices', listNotices, async (request) => {
    const { limit, after, ...filter } = request.query;
    return pageView(await opts.carriers.notices(filter, limit ?? 100, after), noticeView);
  });

  app.get<{ Querystring: Static<typeof OverdueQuery> }>(
    '/v1/ops/overdue-confirmations',
    listOverdue,
    async (request) => {
      const { carrierId, limit, after } = request.query;
      const viewer = principalOf(request);
      return pageView(await opts.carriers.overdue(carrierId, limit ?? 100, after), (e) => overdueView(e, viewer));
    },
  );

  app.get<{ Querystring: Static<typeof EventsQuery> }>('/v1/events', readFeed, async (request) => {
    const { after, limit } = request.query;
    const page = await opts.carriers.feed(after, scopeOf(principalOf(request)), limit ?? 100);
    return { data: page.events.map(eventView), nextCursor: page.nextCursor };
  });
}
