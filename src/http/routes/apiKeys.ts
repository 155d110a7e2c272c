import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import { tidyName } from '../../domain/names.js';
import { type ApiKey, ROLES } from '../../domain/principal.js';
import type { AdminService } from '../../services/admin.js';
import { Closed, IdParams, type IdParamsT, Instant, Name, Nullable, problems, StringEnum } from '../schemas/common.js';

const Role = StringEnum(ROLES);
const CreateKey = Closed({
  role: Role,
  carrierId: Type.Optional(
    Type.String({ minLength: 1, maxLength: 63, description: 'Required for, and only for, role carrier' }),
  ),
  name: Name(200, { examples: ['member portal'] }),
});
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

const view = (k: ApiKey) => ({
  id: k.id,
  role: k.role,
  carrierId: k.carrierId,
  name: k.name,
  createdAt: k.createdAt.toISOString(),
});

export default async function apiKeyRoutes(app: FastifyInstance, opts: { admin: AdminService }) {
  app.post<{ Body: Static<typeof CreateKey> }>(
    '/v1/api-keys',
    {
      config: { auth: ['ops'], idempotency: 'optional' },
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key (the secret is returned once)',
        body: CreateKey,
        response: { 201: CreatedKey, ...problems(400, 422) },
      },
    },
    async (request, reply) => {
      const { role, carrierId, name } = request.body;
      const call = request.idempotent(({ key, secret }: { key: ApiKey; secret: string }) => ({
        status: 201,
        body: { ...view(key), secret },
        stored: { ...view(key), secret: null },
      }));
      return reply.answer(
        await opts.admin.createApiKey({ role, carrierId: carrierId ?? null, name: tidyName(name) }, call),
      );
    },
  );

  app.delete<{ Params: IdParamsT }>(
    '/v1/api-keys/:id',
    {
      config: { auth: ['ops'] },
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key at once',
        params: IdParams,
        response: { 200: KeyView, ...problems(404) },
      },
    },
    async (request) => {
      const key = await opts.admin.revokeApiKey(request.params.id);
      return { ...view(key), revokedAt: key.revokedAt?.toISOString() ?? null };
    },
  );
}
