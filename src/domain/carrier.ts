/** An insurance carrier: ops register it; its API keys see only its own records (R26). */
export interface Carrier {
  id: string;
  name: string;
  createdAt: Date;
}
