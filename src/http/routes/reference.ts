import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { type Static, Type } from 'typebox';
import { CHANNELS, channelRules, PAYMENT_METHODS } from '../../domain/channels.js';
import { paymentDeadlines } from '../../domain/deadlines.js';
import { Closed, DataOf, described, IsoDate, problems, StringEnum } from '../schemas/common.js';

const Method = StringEnum(PAYMENT_METHODS);
const ChannelRule = Closed({
  channel: StringEnum(CHANNELS),
  accepted: Type.Array(Method),
  notAccepted: Type.Array(Method, { description: 'What the Health Connector tells members is not accepted' }),
  needs: Type.Array(Type.String()),
  phoneNumbers: Type.Optional(Closed({ voice: Type.String(), tty: Type.String() })),
  payableTo: Type.Optional(Type.String()),
  mailTo: Type.Optional(
    Closed({
      name: Type.String(),
      line1: Type.String(),
      city: Type.String(),
      state: Type.String(),
      postalCode: Type.String(),
    }),
  ),
});

const DeadlinesQuery = Closed({ year: Type.Integer({ minimum: 1900, maximum: 2999, examples: [2021] }) });
const Deadline = Closed({
  coverageStart: IsoDate('First day of the coverage month'),
  paymentDueDate: IsoDate('The 23rd of the month before (R1)'),
});

const listChannels = {
  config: { auth: ['ops', 'connector', 'carrier'] },
  schema: {
    tags: ['reference'],
    summary: 'Payment channels and the methods each accepts (R19)',
    description:
      'The three ways to pay, as data (R19): online (checking, savings, credit or debit card; signed in or as a guest), phone (1-877-623-6765, TTY 1-877-623-7773; checking or savings only) and mail (check or money order payable to Health Connector, with its mailing address). `notAccepted` is what members are told each channel does not take; a payment with such a method is refused with 422 `method_not_accepted`.',
    response: { 200: described(DataOf(ChannelRule), 'The three channels') },
  },
} satisfies RouteShorthandOptions;

const listDeadlines = {
  config: { auth: ['ops', 'connector', 'carrier'] },
  schema: {
    tags: ['reference'],
    summary: 'Coverage starts and payment due dates of a year (R1)',
    description:
      'The 12 coverage starts of `year` (the 1st of each month) and their payment due dates: the 23rd of the month before, whatever weekday that is (R1). A payment is on time when its business date (America/New_York) is on or before the due date (R2).',
    querystring: DeadlinesQuery,
    response: {
      200: {
        ...DataOf(Deadline),
        description: 'The 12 months of the year',
        examples: [
          {
            data: [
              { coverageStart: '2021-01-01', paymentDueDate: '2020-12-23' },
              { coverageStart: '2021-02-01', paymentDueDate: '2021-01-23' },
            ],
          },
        ],
      },
      ...problems(400),
    },
  },
} satisfies RouteShorthandOptions;

export default async function referenceRoutes(app: FastifyInstance) {
  app.get('/v1/payment-channels', listChannels, async () => ({ data: channelRules() }));

  app.get<{ Querystring: Static<typeof DeadlinesQuery> }>('/v1/payment-deadlines', listDeadlines, async (request) => ({
    data: paymentDeadlines(request.query.year),
  }));
}
