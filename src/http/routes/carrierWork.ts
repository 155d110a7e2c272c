import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { EnrollmentProjection } from '../../domain/enrollment.js';
import { scopeOf } from '../../domain/principal.js';
import type { CarrierService } from '../../services/carriers.js';
import { principalOf } from '../plugins/auth.js';
import { EnrollmentSchema, MemberId } from '../schemas/billing.js';
import {
  Closed,
  IdParams,
  type IdParamsT,
  Instant,
  PageOf,
  PageQuery,
  problems,
  StringEnum,
} from '../schemas/common.js';
import { enrollmentView } from '../views.js';

const ConfirmationBody = Closed(
  {
    confirmedAt: Type.Optional(Instant('When the carrier confirmed; default: the service clock')),
    carrierPolicyId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, examples: ['BCBS-123456'] })),
  },
  { examples: [{ carrierPolicyId: 'BCBS-123456' }] },
);

const NoticeSchema = Closed({
  id: Type.String(),
  type: Type.Literal('welcome_letter'),
  memberId: MemberId,
  enrollmentId: Type.String(),
  status: StringEnum(['queued', 'sent'] as const),
  createdAt: Instant(),
});
const NoticesQuery = Closed({
  type: Type.Optional(Type.Literal('welcome_letter')),
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

export default async function carrierWorkRoutes(app: FastifyInstance, opts: { carriers: CarrierService }) {
  app.post<{ Params: IdParamsT; Body: Static<typeof ConfirmationBody> }>(
    '/v1/enrollments/:id/confirmation',
    {
      config: { auth: ['carrier', 'ops'], idempotency: 'optional' },
      schema: {
        tags: ['carriers'],
        summary: 'Carrier confirms a paid enrollment; queues the Welcome Letter (R12). Repeating it is harmless.',
        params: IdParams,
        body: ConfirmationBody,
        response: { 200: EnrollmentSchema, ...problems(400, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body ?? {};
      const answered = await opts.carriers.confirm(
        request.params.id,
        { confirmedAt: b.confirmedAt ? new Date(b.confirmedAt) : undefined, carrierPolicyId: b.carrierPolicyId },
        principalOf(request),
        request.idempotent((e: EnrollmentProjection) => ({
          status: 200,
          body: enrollmentView(e, principalOf(request)),
        })),
      );
      return reply.answer(answered);
    },
  );

  app.get<{ Querystring: Static<typeof NoticesQuery> }>(
    '/v1/notices',
    {
      config: { auth: ['connector', 'ops'] },
      schema: {
        tags: ['enrollments'],
        summary: 'Notices queued for members (Welcome Letters, R12)',
        querystring: NoticesQuery,
        response: { 200: PageOf(NoticeSchema), ...problems(400) },
      },
    },
    async (request) => {
      const { limit, after, ...filter } = request.query;
      const page = await opts.carriers.notices(filter, limit ?? 100, after);
      return {
        data: page.data.map((n) => ({ ...n, createdAt: n.createdAt.toISOString() })),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get<{ Querystring: Static<typeof OverdueQuery> }>(
    '/v1/ops/overdue-confirmations',
    {
      config: { auth: ['ops'] },
      schema: {
        tags: ['operations'],
        summary: 'Enrollments still awaiting confirmation after confirmationExpectedBy (R12)',
        querystring: OverdueQuery,
        response: { 200: PageOf(OverdueSchema), ...problems(400) },
      },
    },
    async (request) => {
      const page = await opts.carriers.overdue(
        request.query.carrierId,
        request.query.limit ?? 100,
        request.query.after,
      );
      return {
        data: page.data.map((e) => ({
          ...enrollmentView(e, principalOf(request)),
          businessDaysOverdue: e.businessDaysOverdue,
        })),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get<{ Querystring: Static<typeof EventsQuery> }>(
    '/v1/events',
    {
      config: { auth: ['connector', 'ops', 'carrier'] },
      schema: {
        tags: ['carriers'],
        summary: 'The events feed (R27): follow nextCursor; never misses or repeats an event',
        description:
          'Carriers see `enrollment.*` and `payment.returned` events of their own enrollments. A page that is not full (an empty one too) returns a cursor at or after the one given: it may move past events the caller may not see, never past one it may see and has not been shown. Supports If-None-Match.',
        querystring: EventsQuery,
        response: { 200: EventsPage, ...problems(400) },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const page = await opts.carriers.feed(after, scopeOf(principalOf(request)), limit ?? 100);
      return {
        data: page.events.map((e) => ({ ...e, occurredAt: e.occurredAt.toISOString() })),
        nextCursor: page.nextCursor,
      };
    },
  );
}
