import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import { DomainError } from '../../domain/errors.js';
import type { AchFileRecord } from '../../domain/nacha.js';
import type { AchService, CreatedAchFile, ReturnFileResult } from '../../services/ach.js';
import { principalOf } from '../plugins/auth.js';
import { answerWith } from '../plugins/idempotency.js';
import {
  AchFileSchema,
  AchFileText,
  CreateAchFileBody,
  CreatedAchFileSchema,
  ReturnFileBody,
  ReturnFileResultSchema,
} from '../schemas/ach.js';
import {
  Closed,
  described,
  IdParams,
  type IdParamsT,
  noBodyIsEmpty,
  PageOf,
  PageQuery,
  problems,
} from '../schemas/common.js';
import { pageView } from '../views.js';

const PageQueryObject = Closed({ ...PageQuery });
type PageQueryT = Static<typeof PageQueryObject>;

/** Largest return file accepted: about 55,000 records (the service-wide body limit is for JSON). */
export const RETURN_FILE_LIMIT_BYTES = 5 * 1024 * 1024;

export const achFileView = (f: AchFileRecord) => ({
  id: f.id,
  createdAt: f.createdAt.toISOString(),
  createdBy: f.createdBy,
  effectiveDate: f.effectiveDate,
  fileIdModifier: f.fileIdModifier,
  entryCount: f.entryCount,
  batchCount: f.batchCount,
  totalDebitCents: f.totalDebitCents,
  entryHash: f.entryHash,
  downloads: f.downloads.map((d) => ({ apiKeyId: d.apiKeyId, downloadedAt: d.downloadedAt.toISOString() })),
});

const createdFileView = (f: CreatedAchFile) => ({ ...achFileView(f), pendingAfter: f.pendingAfter });

export const returnFileView = (r: ReturnFileResult) => ({
  id: r.id,
  receivedAt: r.receivedAt.toISOString(),
  firstReceivedAt: r.firstReceivedAt.toISOString(),
  repeat: r.repeat,
  returns: r.returns,
  notificationsOfChange: r.notificationsOfChange,
  warnings: r.warnings.map((w) => ({
    code: w.code,
    message: w.message,
    ...(w.line === undefined ? {} : { line: w.line }),
    ...(w.traceNumber === undefined ? {} : { traceNumber: w.traceNumber }),
  })),
});

const createFile = {
  config: { auth: ['ops'], idempotency: 'optional' },
  preValidation: noBodyIsEmpty,
  schema: {
    tags: ['operations'],
    summary: 'Originate every pending bank payment in one Nacha file (R35)',
    description: [
      'Puts every online and phone bank payment (`checking`, `savings`) not yet in a file, and not returned, into one new Nacha file: a `WEB` batch (online) and a `TEL` batch (phone), debit entries with transaction code 27 (checking) or 37 (savings), the Member ID and name, company name `HEALTH CONNECTOR`. Each payment then shows `achFileId` and `traceNumber`.',
      'The effective entry date defaults to the next business day; a given one must be a business day after today, at most 30 days ahead (422 `invalid_effective_date`). Nothing pending: 422 `nothing_to_originate`.',
      'A file stays within the format: its debit total fits 12 digits ($9,999,999,999.99) and it holds at most 100,000 entries; payments that do not fit wait for the next file (`pendingAfter` counts them). A day has 36 File ID Modifiers (A-Z, 0-9): the 37th file of a day is 422 `ach_file_limit_reached`.',
      'Files are created one at a time; a payment is never in two files. The file body is stored encrypted and served by `GET /v1/ops/ach-files/{id}`. An Idempotency-Key is optional: a retry with one replays the first answer instead of making a second file.',
    ].join(' '),
    body: CreateAchFileBody,
    response: {
      201: described(CreatedAchFileSchema, 'The new file (without its body)'),
      ...problems(400, {
        422: 'Nothing to send (`nothing_to_originate`), the effective date is not allowed (`invalid_effective_date`, with `earliestEffectiveDate` and `latestEffectiveDate`), or 36 files were created today (`ach_file_limit_reached`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

const listFiles = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'ACH files (R35)',
    description:
      'Every Nacha file created, oldest first, with its totals and every download (who, when). Paged with `limit` and `after`.',
    querystring: PageQueryObject,
    response: { 200: described(PageOf(AchFileSchema), 'A page of ACH files'), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const getFile = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'Download an ACH file (R35)',
    description:
      'The Nacha file as `text/plain`, to ops only. It holds full account numbers; each download is recorded (the API key and the time) and listed by `GET /v1/ops/ach-files`.',
    params: IdParams,
    produces: ['text/plain'],
    response: { 200: AchFileText, ...problems(400, 404) },
  },
} satisfies RouteShorthandOptions;

/** A request without a body reaches no parser: it is refused like an empty file. */
async function fileRequired(request: FastifyRequest): Promise<void> {
  if (typeof request.body !== 'string') {
    throw new DomainError('invalid_nacha_file', 'Send the return file as the text/plain request body.');
  }
}

const receiveReturns = {
  config: { auth: ['ops'], idempotency: 'optional' },
  bodyLimit: RETURN_FILE_LIMIT_BYTES,
  preValidation: fileRequired,
  schema: {
    tags: ['operations'],
    summary: 'Apply a Nacha return file (R36)',
    description: [
      'Takes the return file as `text/plain` (at most 5 MiB). Each return entry (`99` addenda: reason code `R01`..`R99`, original trace number) is matched by its original trace number to a payment and applied as R25, exactly as `POST /v1/payments/{id}/returns`.',
      'Unknown trace numbers, payments already returned and a trace number repeated in the file are listed with their outcome, not refused. Notifications of change (`98` addenda) are listed for ops, account numbers by their last 4 digits.',
      'The same file sent again changes nothing: every return in it is then `already_returned`, and `repeat` is true. A file that is not a Nacha return file is 400 `invalid_nacha_file`, naming the line. An Idempotency-Key is optional.',
      "The file's integrity is checked and reported in `warnings`, never refused (returns are matched by trace number and applied as R36 says even then): `entry_amount_mismatch` (a return's amount differs from our entry's; R25 still returns the whole payment), `unexpected_transaction_code` (not 26 for our checking debit 27, 36 for our savings debit 37), `batch_control_mismatch`, `file_control_mismatch` (counts, entry hash, totals, batch and block counts of the `8` and `9` records), `missing_batch_header`, `missing_batch_control`, `missing_file_control`. Empty when the file is clean; a repeated file answers the warnings recorded the first time.",
    ].join(' '),
    body: ReturnFileBody,
    response: {
      200: described(ReturnFileResultSchema, 'What each return and notification did'),
      ...problems(400, { 413: 'The file is larger than 5 MiB.', 415: 'Send the file as `text/plain`.' }),
    },
  },
} satisfies RouteShorthandOptions;

/** ACH origination files (R35) and return files (R36), ops only. */
export default async function achRoutes(app: FastifyInstance, opts: { ach: AchService }) {
  app.post<{ Body: Static<typeof CreateAchFileBody> }>('/v1/ops/ach-files', createFile, async (request, reply) => {
    const call = request.idempotent(answerWith(201, createdFileView));
    return reply.answer(await opts.ach.createFile(request.body.effectiveDate, principalOf(request), call));
  });

  app.get<{ Querystring: PageQueryT }>('/v1/ops/ach-files', listFiles, async (request) =>
    pageView(await opts.ach.list(request.query.limit ?? 100, request.query.after), achFileView),
  );

  app.get<{ Params: IdParamsT }>('/v1/ops/ach-files/:id', getFile, async (request, reply) => {
    const { id } = request.params;
    const body = await opts.ach.download(id, principalOf(request));
    // The file never changes, so its id is its ETag (no hash of its content leaves the service).
    return reply
      .type('text/plain; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('etag', `W/"${id}"`)
      .header('content-disposition', `attachment; filename="${id}.ach"`)
      .send(body);
  });

  // Only text/plain here (anything else is 415), up to the return file limit.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'text/plain',
      { parseAs: 'string', bodyLimit: RETURN_FILE_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.post<{ Body: string }>('/v1/ops/ach-returns', receiveReturns, async (request, reply) => {
      const call = request.idempotent(answerWith(200, returnFileView));
      return reply.answer(await opts.ach.receiveReturns(request.body, principalOf(request), call));
    });
  });
}
