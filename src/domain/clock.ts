/** Time is a port: the domain never reads the system clock itself. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The service clock (SPEC): real time, or frozen at an instant when a test clock is allowed. */
export class ServiceClock implements Clock {
  private frozenAt: Date | null = null;

  now(): Date {
    return this.frozenAt ? new Date(this.frozenAt.getTime()) : new Date();
  }

  freeze(at: Date): void {
    this.frozenAt = new Date(at.getTime());
  }

  reset(): void {
    this.frozenAt = null;
  }

  get frozen(): boolean {
    return this.frozenAt !== null;
  }
}
