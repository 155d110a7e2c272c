export const ROLES = ['ops', 'connector', 'carrier'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: an API key with its role; a carrier key is bound to one carrier. */
export interface Principal {
  keyId: string;
  role: Role;
  carrierId: string | null;
}
