export const ROLES = ['ops', 'connector', 'carrier'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: an API key with its role; a carrier key is bound to one carrier. */
export interface Principal {
  keyId: string;
  role: Role;
  carrierId: string | null;
}

/** What a caller may see: a carrier key sees only its own carrier's records (R26). */
export interface Scope {
  carrierId: string | null;
}

export function scopeOf(principal: Principal): Scope {
  return { carrierId: principal.role === 'carrier' ? principal.carrierId : null };
}

export const UNSCOPED: Scope = { carrierId: null };

/** An API key as ops see it (the secret is never kept: only its hash). */
export interface ApiKey {
  id: string;
  role: Role;
  carrierId: string | null;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** The port authentication asks: which principal, if any, a presented secret stands for. */
export interface PrincipalLookup {
  principalForSecret(secret: string): Promise<Principal | null>;
}
