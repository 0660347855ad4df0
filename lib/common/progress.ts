/**
 * Progress for long work: done/total, rate and ETA. On a TTY one line is redrawn in place; otherwise
 * (CI, logs, notebooks) a plain line is printed at most every `intervalMs`. Written to stderr so stdout
 * stays clean for `--json` summaries.
 */

export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  /** Minimum time between plain (non-TTY) lines. */
  intervalMs?: number;
  /** Silences all output (library use, tests). */
  quiet?: boolean;
}

export class Progress {
  readonly label: string;
  readonly total: number;
  readonly unit: string;
  done = 0;
  /** Items counted as done without work (cached): left out of the rate and the ETA's rate. */
  private skipped = 0;
  private readonly start = performance.now();
  private lastPrint = 0;
  private readonly intervalMs: number;
  private readonly quiet: boolean;
  private readonly tty: boolean;

  constructor(opts: ProgressOptions) {
    this.label = opts.label;
    this.total = opts.total;
    this.unit = opts.unit ?? "items";
    this.intervalMs = opts.intervalMs ?? 5000;
    this.quiet = opts.quiet ?? false;
    this.tty = !this.quiet && Deno.stderr.isTerminal();
  }

  /** Counts `n` items already done (cached, resumed): they advance done/total but not the rate. */
  skip(n: number, extra = ""): void {
    this.skipped += n;
    this.tick(n, extra);
  }

  /** Advances by `n` and reports if due; `extra` is appended to the line (e.g. "loss 0.012"). */
  tick(n = 1, extra = ""): void {
    this.done += n;
    const now = performance.now();
    const due = this.tty ? now - this.lastPrint > 100 : now - this.lastPrint >= this.intervalMs;
    if (due || this.done >= this.total) {
      this.lastPrint = now;
      this.print(extra);
    }
  }

  /** The current status line. */
  line(extra = ""): string {
    const secs = (performance.now() - this.start) / 1000;
    const rate = secs > 0 ? (this.done - this.skipped) / secs : 0;
    const eta = this.done >= this.total ? 0 : rate > 0 ? (this.total - this.done) / rate : Infinity;
    const pct = this.total > 0 ? (100 * this.done) / this.total : 100;
    return `${this.label}: ${this.done}/${this.total} (${pct.toFixed(0)}%) ${
      formatRate(rate)
    } ${this.unit}/s, ` +
      `elapsed ${formatDuration(secs)}, ETA ${formatDuration(eta)}${extra ? ", " + extra : ""}`;
  }

  private print(extra: string): void {
    if (this.quiet) return;
    const text = this.line(extra);
    const enc = new TextEncoder();
    if (this.tty) {
      Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${text}${this.done >= this.total ? "\n" : ""}`));
    } else {
      Deno.stderr.writeSync(enc.encode(text + "\n"));
    }
  }
}

function formatRate(r: number): string {
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs)) return "?";
  if (secs < 59.95) return `${secs.toFixed(1)}s`;
  // Round once, then split: 119.6 s is "2m00s", never "1m60s".
  const total = Math.round(secs);
  const m = Math.floor(total / 60), s = total % 60;
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Logs one plain line to stderr unless quiet. */
export function log(message: string, quiet = false): void {
  if (!quiet) console.error(message);
}
