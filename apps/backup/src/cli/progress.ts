/**
 * @module cli/progress
 * One self-rewriting status line on stderr when it is a terminal; silent otherwise, so logs and
 * pipes never fill with carriage returns. Updates are throttled to ten a second.
 */

export class ProgressLine {
  private readonly enabled: boolean;
  private last = 0;
  private shown = false;

  constructor(enabled = process.stderr.isTTY === true) {
    this.enabled = enabled;
  }

  update(text: string, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const width = process.stderr.columns || 100;
    process.stderr.write(`\r\x1b[K${text.slice(0, width - 1)}`);
    this.shown = true;
  }

  /** Clears the line so the next output starts clean. */
  done(): void {
    if (this.enabled && this.shown) process.stderr.write("\r\x1b[K");
    this.shown = false;
  }
}
