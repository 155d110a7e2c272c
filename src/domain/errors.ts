/**
 * The error catalogue: every refusal the domain can make, with a stable machine code.
 * The HTTP layer maps `kind` to a status; the domain never speaks HTTP.
 */
export type ErrorKind = 'not_found' | 'conflict' | 'rule' | 'invalid' | 'unauthorized' | 'forbidden';

export const ERROR_CATALOGUE = {
  not_found: { kind: 'not_found', title: 'Not found' },
  carrier_exists: { kind: 'conflict', title: 'Carrier already exists' },
  member_exists: { kind: 'conflict', title: 'Member already exists' },
  api_key_not_found: { kind: 'not_found', title: 'API key not found' },
  carrier_not_found: { kind: 'rule', title: 'Carrier not found' },
  account_not_found: { kind: 'rule', title: 'Account not found' },
  deadline_passed: { kind: 'rule', title: 'Payment deadline for this coverage start has passed' },
  invalid_coverage_start: { kind: 'invalid', title: 'Coverage starts on the first day of a month' },
  invalid_member_id: { kind: 'invalid', title: 'Member ID must be exactly 12 digits' },
  invalid_phone_number: { kind: 'invalid', title: 'Phone number must be E.164' },
  timestamp_in_future: { kind: 'rule', title: 'Timestamp is more than 5 minutes in the future' },
  invalid_transition: { kind: 'conflict', title: 'Transition not allowed from the current state' },
  not_cancellable: { kind: 'conflict', title: 'Enrollment can no longer be cancelled' },
  not_awaiting_confirmation: { kind: 'conflict', title: 'Enrollment is not awaiting confirmation' },
  method_not_accepted: { kind: 'rule', title: 'Payment method not accepted on this channel' },
  carrier_scope_required: { kind: 'invalid', title: 'A carrier key must name its carrier' },
} as const satisfies Record<string, { kind: ErrorKind; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly title: string;
  /** Extra problem members (e.g. `acceptedMethods`, `earliestCoverageStart`, `currentState`). */
  readonly extra: Record<string, unknown>;

  constructor(code: ErrorCode, detail?: string, extra: Record<string, unknown> = {}) {
    const entry = ERROR_CATALOGUE[code];
    super(detail ?? entry.title);
    this.name = 'DomainError';
    this.code = code;
    this.kind = entry.kind;
    this.title = entry.title;
    this.extra = extra;
  }
}

export function notFound(what: string, id: string): DomainError {
  return new DomainError('not_found', `${what} ${id} not found`);
}
