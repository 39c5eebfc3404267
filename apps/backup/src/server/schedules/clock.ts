/**
 * @module server/schedules/clock
 * Time as the scheduler sees it. Production uses the system clock; tests inject a `ManualClock`
 * and move it forward, so a "daily at 03:00" schedule is tested without waiting a day.
 */

export interface Clock {
  now(): Date;
  /** Calls `fn` after `ms` of this clock's time; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(fn, ms) {
    // Node caps timers at 2^31-1 ms; the scheduler re-arms anyway.
    const timer = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** A clock that only moves when told to; timers fire during `advance`. */
export class ManualClock implements Clock {
  private at: number;
  private timers: { due: number; fn: () => void }[] = [];

  constructor(start: Date | string) {
    this.at = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.at);
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { due: this.at + Math.max(0, ms), fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward by `ms` (or to a date), firing timers that fall due, in order. */
  advance(by: number | Date): void {
    const target = typeof by === "number" ? this.at + by : by.getTime();
    for (;;) {
      const next = this.timers.filter((t) => t.due <= target).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.at = Math.max(this.at, next.due);
      next.fn();
    }
    this.at = target;
  }
}
