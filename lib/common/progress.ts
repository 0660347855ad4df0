/**
 * Progress for long work: done/total, rate and ETA. On a TTY one line is redrawn in place; otherwise
 * (CI, logs, notebooks) a plain line is printed at most every `intervalMs`. Written to stderr so stdout
 * stays clean for `--json` summaries.
 *
 * The ETA is measured from the first finished item on, and only once that window is as long as the wait for
 * the first item: the start-up (loading models, starting workers) then no longer counts as work, and N items
 * running in parallel have each finished once more. Before that the line says "ETA estimating" rather than a
 * guess 10× off (a first extraction ETA of 41 minutes for a 4-minute job).
 */

export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  /** Minimum time between plain (non-TTY) lines. */
  intervalMs?: number;
  /** Silences all output (library use, tests). */
  quiet?: boolean;
  /** The clock, in milliseconds (tests); default `performance.now`. */
  now?: () => number;
}

export class Progress {
  readonly label: string;
  readonly total: number;
  readonly unit: string;
  done = 0;
  /** Items counted as done without work (cached): left out of the rate and the ETA's rate. */
  private skipped = 0;
  private readonly now: () => number;
  private readonly start: number;
  /** When the first item of real work finished, and how many were worked by then. */
  private firstAt?: number;
  private workedAtFirst = 0;
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
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Counts `n` items already done (cached, resumed): they advance done/total but not the rate. */
  skip(n: number, extra = ""): void {
    this.skipped += n;
    this.advance(n, extra);
  }

  /** Advances by `n` and reports if due; `extra` is appended to the line (e.g. "loss 0.012"). */
  tick(n = 1, extra = ""): void {
    if (this.firstAt === undefined && n > 0) {
      this.firstAt = this.now();
      this.workedAtFirst = this.done + n - this.skipped;
    }
    this.advance(n, extra);
  }

  private advance(n: number, extra: string): void {
    this.done += n;
    const now = this.now();
    const due = this.tty ? now - this.lastPrint > 100 : now - this.lastPrint >= this.intervalMs;
    if (due || this.done >= this.total) {
      this.lastPrint = now;
      this.print(extra);
    }
  }

  /** The current status line. */
  line(extra = ""): string {
    const now = this.now();
    const secs = (now - this.start) / 1000;
    const worked = this.done - this.skipped;
    let rate = secs > 0 ? worked / secs : 0;
    let eta: number | undefined = this.done >= this.total ? 0 : undefined;
    if (eta === undefined && this.firstAt !== undefined) {
      const window = (now - this.firstAt) / 1000, lead = (this.firstAt - this.start) / 1000;
      if (window > 0 && window >= lead && worked > this.workedAtFirst) {
        rate = (worked - this.workedAtFirst) / window;
        eta = (this.total - this.done) / rate;
      }
    }
    const pct = this.total > 0 ? (100 * this.done) / this.total : 100;
    return `${this.label}: ${this.done}/${this.total} (${pct.toFixed(0)}%) ${
      formatRate(rate)
    } ${this.unit}/s, ` +
      `elapsed ${formatDuration(secs)}, ${
        eta === undefined ? "ETA estimating" : `ETA ${formatDuration(eta)}`
      }` +
      `${extra ? ", " + extra : ""}`;
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
