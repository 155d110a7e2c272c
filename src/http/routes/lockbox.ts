import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import type { IsoDate } from '../../domain/dates.js';
import type { LockboxReconciliation } from '../../domain/lockbox.js';
import type { Fingerprint } from '../../services/idempotency.js';
import type { LockboxService } from '../../services/lockbox.js';
import { principalOf } from '../plugins/auth.js';
import { answerWith } from '../plugins/idempotency.js';
import { described, problems } from '../schemas/common.js';
import {
  DEPOSIT_BODY_LIMIT_BYTES,
  DepositParams,
  LockboxDepositSchema,
  LockboxReconciliationSchema,
} from '../schemas/lockbox.js';

const recordDeposit = {
  config: { auth: ['connector', 'ops'], idempotency: 'optional' },
  bodyLimit: DEPOSIT_BODY_LIMIT_BYTES,
  schema: {
    tags: ['operations'],
    summary: 'Record a lockbox deposit at once (R34)',
    description: [
      'The mail lockbox deposits a batch of checks and money orders: every item is a mail payment received on `depositDate` (R2, R22-R24), and the whole deposit commits together or not at all.',
      'Control totals first: an `itemCount` or `totalCents` that disagrees with the items is 422 `control_total_mismatch` and nothing is recorded. Each sequence number appears once (422 `duplicate_sequence`); a check carries `checkNumber`, a money order `serialNumber` (else 400 `payment_details_required` or `payment_details_mismatch`, naming the item).',
      'Items are taken in sequence order, each exactly as a single mail payment: an item not payable to "Health Connector" (compared ignoring case, repeated white space and Unicode forms) is `returned_to_sender` and records nothing; else it is matched by its scan line (R33: a failing check digit, or an amount other than the invoice\'s amount due, never matches), else by its `remittance` (the same fields as a single mail payment\'s), else kept `unapplied` for ops (R23). A later item sees the money of an earlier one: an overpayment becomes credit on the enrollment (R24).',
      "The answer is the reconciliation: every item's outcome with its payment id, and the count and cents per outcome, which add up to the control totals.",
      '`depositId` is the idempotency key: the same deposit again replays the first answer (201, `Idempotent-Replayed: true`) and records nothing new; the same id with different contents is 422 `idempotency_key_reused`; while the first is still being recorded, 409 `idempotency_key_in_flight`. An Idempotency-Key header is honoured too.',
    ].join(' '),
    body: LockboxDepositSchema,
    response: {
      201: described(LockboxReconciliationSchema, "The deposit's reconciliation (a replay: the first answer)"),
      ...problems(400, {
        409: 'The same deposit is being recorded by another request (`idempotency_key_in_flight`); retry later.',
        413: 'The body is larger than 8 MiB (`payload_too_large`).',
        422: 'Refused, nothing recorded: `control_total_mismatch` (with `control` and what the `items` add up to), `duplicate_sequence` (with `sequences`), `idempotency_key_reused`, `timestamp_out_of_range` or `timestamp_in_future` (field `depositDate`: at most 10 business days back, never ahead), `card_number_not_allowed`.',
      }),
    },
  },
} satisfies RouteShorthandOptions;

const getDeposit = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['operations'],
    summary: "A recorded lockbox deposit's reconciliation (R34)",
    description:
      'The reconciliation answered when the deposit was recorded. 404 `not_found` for an unknown deposit id.',
    params: DepositParams,
    response: {
      200: described(LockboxReconciliationSchema, "The deposit's reconciliation"),
      ...problems(400, { 404: 'No deposit with this id (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const created = answerWith(201, (r: LockboxReconciliation) => r);

/** R34: lockbox deposits. */
export default async function lockboxRoutes(
  app: FastifyInstance,
  opts: { lockbox: LockboxService; fingerprint: (body: unknown) => Fingerprint },
) {
  app.post<{ Body: Static<typeof LockboxDepositSchema> }>(
    '/v1/ops/lockbox-deposits',
    recordDeposit,
    async (request, reply) => {
      const b = request.body;
      const deposit = { ...b, depositDate: b.depositDate as IsoDate };
      const call = request.idempotent(created);
      return reply.answer(await opts.lockbox.record(deposit, opts.fingerprint(b), principalOf(request), call));
    },
  );

  app.get<{ Params: Static<typeof DepositParams> }>(
    '/v1/ops/lockbox-deposits/:depositId',
    getDeposit,
    async (request) => opts.lockbox.get(request.params.depositId),
  );
}
