import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { Carrier } from '../../domain/carrier.js';
import { tidyName } from '../../domain/names.js';
import type { AdminService } from '../../services/admin.js';
import { Closed, DataOf, IdParams, type IdParamsT, Instant, Name, problems } from '../schemas/common.js';

const CarrierSchema = Closed(
  {
    id: Type.String({ description: 'Slug chosen by ops', examples: ['bcbsma'] }),
    name: Type.String({ examples: ['Blue Cross Blue Shield of Massachusetts'] }),
    createdAt: Instant(),
  },
  { $id: 'Carrier' },
);
const CreateCarrier = Closed({
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', examples: ['bcbsma'] }),
  name: Name(200, { examples: ['Blue Cross Blue Shield of Massachusetts'] }),
});

const view = (c: Carrier) => ({ id: c.id, name: c.name, createdAt: c.createdAt.toISOString() });

export default async function carrierRoutes(app: FastifyInstance, opts: { admin: AdminService }) {
  app.addSchema(CarrierSchema);
  const CarrierRef = Type.Unsafe<Static<typeof CarrierSchema>>({ $ref: 'Carrier#' });

  app.post<{ Body: Static<typeof CreateCarrier> }>(
    '/v1/carriers',
    {
      config: { auth: ['ops'], idempotency: 'optional' },
      schema: {
        tags: ['carriers'],
        summary: 'Register a carrier',
        body: CreateCarrier,
        response: { 201: CarrierRef, ...problems(400, 409) },
      },
    },
    async (request, reply) => {
      const call = request.idempotent((c: Carrier) => ({ status: 201, body: view(c) }));
      return reply.answer(await opts.admin.createCarrier(request.body.id, tidyName(request.body.name), call));
    },
  );

  app.get(
    '/v1/carriers',
    {
      config: { auth: ['ops', 'connector', 'carrier'] },
      schema: { tags: ['carriers'], summary: 'List carriers', response: { 200: DataOf(CarrierRef) } },
    },
    async () => ({ data: (await opts.admin.listCarriers()).map(view) }),
  );

  app.get<{ Params: IdParamsT }>(
    '/v1/carriers/:id',
    {
      config: { auth: ['ops', 'connector', 'carrier'] },
      schema: {
        tags: ['carriers'],
        summary: 'Get a carrier',
        params: IdParams,
        response: { 200: CarrierRef, ...problems(404) },
      },
    },
    async (request) => view(await opts.admin.getCarrier(request.params.id)),
  );
}
