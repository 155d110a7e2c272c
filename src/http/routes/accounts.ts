import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import { normalizePhoneNumber } from '../../domain/accounts.js';
import { tidyName } from '../../domain/names.js';
import type { BillingService } from '../../services/billing.js';
import { answerWith } from '../plugins/idempotency.js';
import { AccountSchema, AccountsQuery, CreateAccount, MemberParams } from '../schemas/billing.js';
import { DataOf, problems } from '../schemas/common.js';
import { accountView } from '../views.js';

const auth = ['connector', 'ops'] as const;

const createAccount = {
  config: { auth, idempotency: 'optional' },
  schema: {
    tags: ['accounts'],
    summary: 'Create a household account (R5)',
    body: CreateAccount,
    response: { 201: AccountSchema, ...problems(400, 409) },
  },
} satisfies RouteShorthandOptions;

const getAccount = {
  config: { auth },
  schema: {
    tags: ['accounts'],
    summary: 'Get an account by Member ID',
    params: MemberParams,
    response: { 200: AccountSchema, ...problems(400, 404) },
  },
} satisfies RouteShorthandOptions;

const findAccounts = {
  config: { auth },
  schema: {
    tags: ['accounts'],
    summary: 'Find accounts by a phone number on the account (R21)',
    querystring: AccountsQuery,
    response: { 200: DataOf(AccountSchema), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

/** The account as stored: names tidied, phone numbers in E.164 without repeats. */
function accountInput(b: Static<typeof CreateAccount>) {
  return {
    memberId: b.memberId,
    firstName: tidyName(b.firstName),
    lastName: tidyName(b.lastName),
    mailingAddress: b.mailingAddress,
    phoneNumbers: [...new Set(b.phoneNumbers.map(normalizePhoneNumber))],
    paperless: b.paperless ?? false,
  };
}

export default async function accountRoutes(app: FastifyInstance, opts: { billing: BillingService }) {
  app.post<{ Body: Static<typeof CreateAccount> }>('/v1/accounts', createAccount, async (request, reply) => {
    const call = request.idempotent(answerWith(201, accountView));
    return reply.answer(await opts.billing.createAccount(accountInput(request.body), call));
  });

  app.get<{ Params: Static<typeof MemberParams> }>('/v1/accounts/:memberId', getAccount, async (request) =>
    accountView(await opts.billing.getAccount(request.params.memberId)),
  );

  app.get<{ Querystring: Static<typeof AccountsQuery> }>('/v1/accounts', findAccounts, async (request) => {
    const accounts = await opts.billing.accountsByPhone(normalizePhoneNumber(request.query.phoneNumber));
    return { data: accounts.map(accountView) };
  });
}
