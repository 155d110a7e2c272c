import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import { type Account, normalizePhoneNumber } from '../../domain/accounts.js';
import { tidyName } from '../../domain/names.js';
import type { BillingService } from '../../services/billing.js';
import { AccountSchema, AccountsQuery, CreateAccount, MemberParams } from '../schemas/billing.js';
import { DataOf, problems } from '../schemas/common.js';
import { accountView } from '../views.js';

export default async function accountRoutes(app: FastifyInstance, opts: { billing: BillingService }) {
  const auth = { auth: ['connector', 'ops'] as const };

  app.post<{ Body: Static<typeof CreateAccount> }>(
    '/v1/accounts',
    {
      config: { ...auth, idempotency: 'optional' },
      schema: {
        tags: ['accounts'],
        summary: 'Create a household account (R5)',
        body: CreateAccount,
        response: { 201: AccountSchema, ...problems(400, 409) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answered = await opts.billing.createAccount(
        {
          memberId: b.memberId,
          firstName: tidyName(b.firstName),
          lastName: tidyName(b.lastName),
          mailingAddress: b.mailingAddress,
          phoneNumbers: [...new Set(b.phoneNumbers.map(normalizePhoneNumber))],
          paperless: b.paperless ?? false,
        },
        request.idempotent((a: Account) => ({ status: 201, body: accountView(a) })),
      );
      return reply.answer(answered);
    },
  );

  app.get<{ Params: Static<typeof MemberParams> }>(
    '/v1/accounts/:memberId',
    {
      config: auth,
      schema: {
        tags: ['accounts'],
        summary: 'Get an account by Member ID',
        params: MemberParams,
        response: { 200: AccountSchema, ...problems(400, 404) },
      },
    },
    async (request) => accountView(await opts.billing.getAccount(request.params.memberId)),
  );

  app.get<{ Querystring: Static<typeof AccountsQuery> }>(
    '/v1/accounts',
    {
      config: auth,
      schema: {
        tags: ['accounts'],
        summary: 'Find accounts by a phone number on the account (R21)',
        querystring: AccountsQuery,
        response: { 200: DataOf(AccountSchema), ...problems(400) },
      },
    },
    async (request) => {
      const accounts = await opts.billing.accountsByPhone(normalizePhoneNumber(request.query.phoneNumber));
      return { data: accounts.map(accountView) };
    },
  );
}
