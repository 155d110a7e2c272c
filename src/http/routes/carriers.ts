import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { type Static, Type } from 'typebox';
import { tidyName } from '../../domain/names.js';
import type { AdminService } from '../../services/admin.js';
import { answerWith } from '../plugins/idempotency.js';
import { Closed, DataOf, described, IdParams, type IdParamsT, Instant, Name, problems } from '../schemas/common.js';
import { carrierView } from '../views.js';

const CarrierSchema = Closed(
  {
    id: Type.String({ description: 'Slug chosen by ops', examples: ['bcbsma'] }),
    name: Type.String({ examples: ['Blue Cross Blue Shield of Massachusetts'] }),
    createdAt: Instant(),
  },
  {
    $id: 'Carrier',
    examples: [
      { id: 'bcbsma', name: 'Blue Cross Blue Shield of Massachusetts', createdAt: '2026-12-01T14:00:00.000Z' },
    ],
  },
);
const CarrierRef = Type.Unsafe<Static<typeof CarrierSchema>>({ $ref: 'Carrier#' });
const CreateCarrier = Closed(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', examples: ['bcbsma'] }),
    name: Name(200, { examples: ['Blue Cross Blue Shield of Massachusetts'] }),
  },
  { examples: [{ id: 'bcbsma', name: 'Blue Cross Blue Shield of Massachusetts' }] },
);

const createCarrier = {
  config: { auth: ['ops'], idempotency: 'optional' },
  schema: {
    tags: ['carriers'],
    summary: 'Register a carrier',
    description:
      'Registers an insurance carrier under a slug id chosen by ops (`bcbsma`: lower-case letters, digits and dashes) and its name. An id that exists is 409 `carrier_exists`. An Idempotency-Key is optional: with one, a retry with the same body replays the first answer with `Idempotent-Replayed: true`.',
    body: CreateCarrier,
    response: {
      201: described(CarrierRef, 'The carrier as registered (a replay: the first answer)'),
      ...problems(400, { 409: 'A carrier with this id exists (`carrier_exists`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const listCarriers = {
  config: { auth: ['ops', 'connector', 'carrier'] },
  schema: {
    tags: ['carriers'],
    summary: 'List carriers',
    description: 'Every registered carrier, by id. Any role may read it.',
    response: { 200: described(DataOf(CarrierRef), 'Every carrier') },
  },
} satisfies RouteShorthandOptions;

const getCarrier = {
  config: { auth: ['ops', 'connector', 'carrier'] },
  schema: {
    tags: ['carriers'],
    summary: 'Get a carrier',
    description: 'One carrier by its slug id. Any role may read it; an unknown id is 404 `not_found`.',
    params: IdParams,
    response: {
      200: described(CarrierRef, 'The carrier'),
      ...problems(400, { 404: 'No carrier with this id (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

export default async function carrierRoutes(app: FastifyInstance, opts: { admin: AdminService }) {
  app.addSchema(CarrierSchema);

  app.post<{ Body: Static<typeof CreateCarrier> }>('/v1/carriers', createCarrier, async (request, reply) => {
    const call = request.idempotent(answerWith(201, carrierView));
    return reply.answer(await opts.admin.createCarrier(request.body.id, tidyName(request.body.name), call));
  });

  app.get('/v1/carriers', listCarriers, async () => ({ data: (await opts.admin.listCarriers()).map(carrierView) }));

  app.get<{ Params: IdParamsT }>('/v1/carriers/:id', getCarrier, async (request) =>
    carrierView(await opts.admin.getCarrier(request.params.id)),
  );
}
