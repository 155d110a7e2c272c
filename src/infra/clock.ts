import type { SettableClock } from '../domain/clock.js';

/** The service clock (SPEC): real time, or frozen at an instant when a test clock is allowed. */
export class ServiceClock implements SettableClock {
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
