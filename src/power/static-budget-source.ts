import type { Clock } from '../clock.js';
import { BaseBudgetSource } from './budget-source.js';

/** A fixed budget from the config. Without `ttlS` it never expires; with it, the fail-safe applies after it. */
export class StaticBudgetSource extends BaseBudgetSource {
  readonly name = 'static';
  constructor(
    private readonly kw: number,
    private readonly ttlS: number | undefined,
    clock: Clock,
  ) {
    super(clock);
  }
  protected async onStart(): Promise<void> {
    this.publish(this.kw, this.ttlS === undefined ? Infinity : this.ttlS * 1000);
  }
  protected async onStop(): Promise<void> {}
}
