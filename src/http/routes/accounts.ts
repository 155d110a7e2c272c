import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import { normalizePhoneNumber } from '../../domain/accounts.js';
import { tidyName } from '../../domain/names.js';
import type { BillingService } from '../../services/billing.js';
import { answerWith } from '../plugins/idempotency.js';
import { AccountSchema, AccountsQuery, CreateAccount, MemberParams } from '../schemas/billing.js';
import { DataOf, described, problems } from '../schemas/common.js';
import { accountView } from '../views.js';

const auth = ['connector', 'ops'] as const;

const createAccount = {
  config: { auth, idempotency: 'optional' },
  schema: {
    tags: ['accounts'],
    summary: 'Create a household account (R5)',
    description: [
      "A household, identified by the primary subscriber's 12-digit Member ID, with the subscriber's name, mailing address, phone numbers and paperless preference (R5).",
      'Phone numbers are stored in E.164 (common formatting and 10-digit US numbers are normalised; others are 400 `invalid_phone_number`); names are stored with white space tidied.',
      'A Member ID that already has an account is 409 `member_exists`.',
      'An Idempotency-Key is optional: with one, a retry with the same body replays the first answer with `Idempotent-Replayed: true`.',
    ].join(' '),
    body: CreateAccount,
    response: {
      201: described(AccountSchema, 'The account as stored (a replay: the first answer)'),
      ...problems({
        400: 'The request breaks the schema (`validation_failed`, with `errors`), or a phone number is not a valid E.164 number (`invalid_phone_number`).',
        409: 'An account with this Member ID exists (`member_exists`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

const getAccount = {
  config: { auth },
  schema: {
    tags: ['accounts'],
    summary: 'Get an account by Member ID',
    description:
      'The household account of a 12-digit Member ID (R5). A Member ID that is not 12 digits is 400; one without an account is 404 `not_found`.',
    params: MemberParams,
    response: {
      200: described(AccountSchema, 'The account'),
      ...problems(400, { 404: 'No account has this Member ID (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const findAccounts = {
  config: { auth },
  schema: {
    tags: ['accounts'],
    summary: 'Find accounts by a phone number on the account (R21)',
    description:
      'Every account that lists this phone number, normalised to E.164 as on create; the phone IVR uses it to find the member (R21). No match is an empty list, not a 404.',
    querystring: AccountsQuery,
    response: {
      200: described(DataOf(AccountSchema), 'The accounts with this phone number; empty when none'),
      ...problems({
        400: 'The query breaks the schema (`validation_failed`), or the phone number is not valid E.164 (`invalid_phone_number`).',
      }),
    },
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
