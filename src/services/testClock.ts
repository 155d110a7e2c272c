import type { SettableClock } from '../domain/clock.js';
import type { TestClockStore } from '../store/testClock.js';

/**
 * The test clock (SPEC, ALLOW_TEST_CLOCK=true only) shared by every instance: setting it writes the
 * instant to the database and freezes this process's clock. The other instances take it when the
 * change's notification reaches their listener, and the change answers only once they all have
 * (src/store/testClock.ts); an instance whose listener is down reads the clock before each request
 * instead (src/app.ts). So an instant set through one instance is the clock of all at their next
 * request (docs/decisions.md, "Several instances").
 */
export class TestClockService {
  /** Refreshes may overlap (a notification during a request's read): only the latest read is applied. */
  private issued = 0;
  private applied = 0;

  constructor(
    private readonly clock: SettableClock,
    private readonly store: TestClockStore,
  ) {}

  async freeze(at: Date): Promise<Date> {
    await this.store.freeze(at);
    this.clock.freeze(at);
    return this.clock.now();
  }

  async reset(): Promise<void> {
    await this.store.reset();
    this.clock.reset();
  }

  /** Takes the shared instant (or real time) into this process's clock. */
  async refresh(): Promise<void> {
    const ticket = ++this.issued;
    const at = await this.store.read();
    if (ticket < this.applied) return;
    this.applied = ticket;
    if (at) this.clock.freeze(at);
    else this.clock.reset();
  }
}
