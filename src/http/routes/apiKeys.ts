import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { type Static, Type } from 'typebox';
import { tidyName } from '../../domain/names.js';
import { ROLES } from '../../domain/principal.js';
import type { AdminService } from '../../services/admin.js';
import {
  Closed,
  described,
  IdParams,
  type IdParamsT,
  Instant,
  Name,
  Nullable,
  problems,
  StringEnum,
} from '../schemas/common.js';
import { createdKeyAnswer, revokedKeyView } from '../views.js';

const Role = StringEnum(ROLES);
const CreateKey = Closed(
  {
    role: Role,
    carrierId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 63, description: 'Required for, and only for, role carrier' }),
    ),
    name: Name(200, { examples: ['member portal'] }),
  },
  { examples: [{ role: 'carrier', carrierId: 'bcbsma', name: 'BCBS confirmations' }] },
);
const KeyFields = {
  id: Type.String(),
  role: Role,
  carrierId: Nullable(Type.String()),
  name: Type.String(),
  createdAt: Instant(),
};
const KeyView = Closed({ ...KeyFields, revokedAt: Nullable(Instant()) });
const CreatedKey = Closed({
  ...KeyFields,
  secret: Nullable(Type.String(), {
    description: 'Shown once; stored only as a hash. A replayed request (same Idempotency-Key) answers null.',
  }),
});

const createKey = {
  config: { auth: ['ops'], idempotency: 'optional' },
  schema: {
    tags: ['api-keys'],
    summary: 'Create an API key (the secret is returned once)',
    description: [
      'Creates a key for a role: `connector` (portal, phone IVR, lockbox), `carrier` (bound to one carrier, given as `carrierId`) or `ops`.',
      'The secret is in this answer only and is stored as a hash; send it as `Authorization: Bearer <secret>`.',
      '`carrierId` is required for role `carrier` and refused for the others (400 `carrier_scope_required`); an unknown carrier is 422 `carrier_not_found`.',
      'An Idempotency-Key is optional: with one, a retry replays the key with `secret: null` (the secret is never stored) and `Idempotent-Replayed: true`.',
    ].join(' '),
    body: CreateKey,
    response: {
      201: described(CreatedKey, 'The key and its secret, shown this once (a replay: `secret: null`)'),
      ...problems(
        {
          400: 'The request breaks the schema (`validation_failed`), or `carrierId` is missing for role carrier or given for another role (`carrier_scope_required`).',
        },
        { 422: 'No carrier with this `carrierId` (`carrier_not_found`).' },
      ),
    },
  },
} satisfies RouteShorthandOptions;

const revokeKey = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['api-keys'],
    summary: 'Revoke an API key at once',
    description:
      'Revokes a key at once: from this answer on, a request with its secret is refused with 401 `unauthorized`. The answer shows the key with `revokedAt`. An unknown id is 404 `not_found`. The only active ops key cannot be revoked (409 `last_ops_key`: nobody could create keys any more, and a restart never brings a revoked key back); create another ops key first.',
    params: IdParams,
    response: {
      200: described(KeyView, 'The revoked key'),
      ...problems(400, {
        404: 'No API key with this id (`not_found`).',
        409: 'The key is the only active ops key (`last_ops_key`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

export default async function apiKeyRoutes(app: FastifyInstance, opts: { admin: AdminService }) {
  app.post<{ Body: Static<typeof CreateKey> }>('/v1/api-keys', createKey, async (request, reply) => {
    const { role, carrierId, name } = request.body;
    const input = { role, carrierId: carrierId ?? null, name: tidyName(name) };
    return reply.answer(await opts.admin.createApiKey(input, request.idempotent(createdKeyAnswer)));
  });

  app.delete<{ Params: IdParamsT }>('/v1/api-keys/:id', revokeKey, async (request) =>
    revokedKeyView(await opts.admin.revokeApiKey(request.params.id)),
  );
}
