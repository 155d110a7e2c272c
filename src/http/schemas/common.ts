import type { FastifyRequest } from 'fastify';
import { type Static, type TProperties, type TSchema, type TString, type TUnsafe, Type } from 'typebox';

/** Every object the API accepts or returns is closed: unknown fields are a 400. */
export function Closed<T extends TProperties>(properties: T, options: Record<string, unknown> = {}) {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/**
 * A string or null, as `type: ["string", "null"]` (JSON Schema 2020-12, OpenAPI 3.1) rather than an
 * `anyOf`: the response serializer then only checks for null, where an `anyOf` made it validate every
 * value against each branch (formats included) on every response.
 */
export function Nullable(s: TString, options: Record<string, unknown> = {}): TUnsafe<string | null> {
  const { type: _type, ...rest } = s as unknown as Record<string, unknown>;
  return Type.Unsafe<string | null>({ ...rest, ...options, type: ['string', 'null'] });
}

/** One of these strings, as `{ type: "string", enum }` (an `anyOf` of literals costs the same as above). */
export function StringEnum<T extends string>(values: readonly T[], options: Record<string, unknown> = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

/**
 * Every name a request carries (people, carriers, plans, payees, API keys). SPEC conventions: a name
 * must contain a letter or digit, so blank, white-space-only (any Unicode space) and punctuation-only
 * names are 400. Routes store names tidied (`tidyName`) and match them by `nameKey`.
 */
export const NAME_PATTERN = '[\\p{L}\\p{N}]';
export const NAME_RULE = 'Must contain a letter or a digit of any script (Unicode categories L or N).';
export const Name = (maxLength: number, options: Record<string, unknown> = {}) =>
  Type.String({ minLength: 1, maxLength, pattern: NAME_PATTERN, description: NAME_RULE, ...options });

/**
 * Calendar dates and instants of this service's business lie in the years 1000-2999 (docs/decisions.md):
 * a year like 0099 (which JavaScript dates read as 1999) or 9999 (whose due dates run past 9999-12-31) is
 * a 400, not a date the rules would compute with.
 */
const YEAR = '[12]\\d{3}';
export const IsoDate = (description?: string) =>
  Type.String({ format: 'date', pattern: `^${YEAR}-\\d{2}-\\d{2}$`, ...(description ? { description } : {}) });
export const Instant = (description?: string) =>
  Type.String({ format: 'date-time', pattern: `^${YEAR}-`, ...(description ? { description } : {}) });
export const Cents = (description?: string) =>
  Type.Integer({ minimum: 1, maximum: 100_000_000_00, ...(description ? { description } : {}) });
export const CentsOrZero = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: 100_000_000_00, ...(description ? { description } : {}) });
/** A sum of amounts (credit built from many payments, a deposit's total): bounded by exact integers only. */
export const CentsSum = (description?: string, minimum = 0) =>
  Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER, ...(description ? { description } : {}) });

export const ProblemRef = Type.Unsafe<{ code: string; status: number }>({ $ref: 'Problem#' });

export function DataOf<T extends TSchema>(item: T) {
  return Closed({ data: Type.Array(item) });
}

export function PageOf<T extends TSchema>(item: T) {
  return Closed({
    data: Type.Array(item),
    nextCursor: Nullable(Type.String(), { description: 'Pass as `after` for the next page; null at the end.' }),
  });
}

/** A success schema with the sentence the document shows for its answer (instead of "Default Response"). */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Opaque cursor from `nextCursor`.' })),
};

export const IdParams = Closed({ id: Type.String({ minLength: 1, maxLength: 100 }) });
export type IdParamsT = Static<typeof IdParams>;

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request breaks the schema: `validation_failed`, with each failing field in `errors`.',
  404: 'No resource with this id (`not_found`).',
  409: 'The request conflicts with the current state.',
  422: 'A business rule refuses the request.',
};

/**
 * Problem responses a route can give, documented next to its success schema: a status alone takes
 * the usual description; `{ 422: '...' }` says what that route refuses and with which codes.
 */
export function problems(...answers: (number | Record<number, string>)[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const answer of answers) {
    const pairs =
      typeof answer === 'number'
        ? [[answer, PROBLEM_DESCRIPTIONS[answer] ?? 'Problem'] as const]
        : Object.entries(answer);
    for (const [status, description] of pairs) out[Number(status)] = { ...ProblemRef, description };
  }
  return out;
}

/**
 * A POST that takes no fields (conventions: unknown body fields are 400): `schema.body` is a closed
 * empty object and `preValidation` makes no body the same request as `{}`.
 */
export const EmptyBody = Closed({}, { description: 'No fields: send no body or `{}`.' });
export async function noBodyIsEmpty(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}
