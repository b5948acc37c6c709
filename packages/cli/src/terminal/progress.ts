/**
 * A progress line for long work (training, data building): bar, percent, count, tokens/s, ETA, the latest
 * metric and its sparkline. On a TTY it redraws one line in place (at most every 100 ms); on a pipe or file
 * it prints a full line every `intervalMs` (10 s by default) so logs stay readable. The clock is injected
 * for tests. Not here: what is being measured (the caller reports counts).
 */
import { sparkline } from "./sparkline.js";

export interface ProgressState {
  label: string;
  completed: number;
  total: number;
  unit: string;
  /** Tokens processed so far, for the tokens/s figure; omitted when undefined. */
  tokens?: number;
  elapsedMs: number;
  /** A named metric shown with its latest value and sparkline, e.g. loss. */
  metricName?: string;
  metricHistory?: readonly number[];
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds) || milliseconds < 0) return "?";
  const seconds = Math.round(milliseconds / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, "0")}m`;
  if (minutes > 0) return `${minutes}m${String(rest).padStart(2, "0")}s`;
  return `${rest}s`;
}

const integerFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** One progress line that fits `columns` characters (the bar shrinks first, then the sparkline goes). */
export function formatProgressLine(state: ProgressState, columns: number): string {
  const { completed, total, elapsedMs } = state;
  const share = total > 0 ? Math.min(1, completed / total) : 0;
  const parts = [`${Math.floor(share * 100)}%`.padStart(4), `${completed}/${total} ${state.unit}`];
  const seconds = elapsedMs / 1000;
  if (state.tokens !== undefined && seconds > 0) parts.push(`${integerFormat.format(state.tokens / seconds)} tok/s`);
  if (completed > 0 && completed < total)
    parts.push(`ETA ${formatDuration((elapsedMs / completed) * (total - completed))}`);
  else if (completed >= total) parts.push(`in ${formatDuration(elapsedMs)}`);
  const history = state.metricHistory ?? [];
  const latest = history.at(-1);
  let metric = "";
  if (state.metricName !== undefined && latest !== undefined) {
    metric = `${state.metricName} ${Number.isFinite(latest) ? latest.toFixed(3) : String(latest)}`;
  }
  const text = [...parts, ...(metric === "" ? [] : [metric])].join(" · ");
  const fixed = `${state.label} [] ${text}`.length;
  const sparkWidth = Math.min(24, history.length, columns - fixed - 10 - 2 - 1);
  const spark = metric !== "" && sparkWidth >= 4 ? ` ${sparkline(history, sparkWidth)}` : "";
  const barWidth = Math.max(0, Math.min(30, columns - fixed - spark.length - 1));
  const filled = Math.round(share * barWidth);
  const bar = barWidth > 0 ? `[${"█".repeat(filled)}${"░".repeat(barWidth - filled)}] ` : "";
  return `${state.label} ${bar}${text}${spark}`.slice(0, Math.max(0, columns - 1));
}

export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  write: (text: string) => void;
  isTTY: boolean;
  columns?: number;
  metricName?: string;
  /** Milliseconds between lines when not a TTY. */
  intervalMs?: number;
  now?: () => number;
}

export interface ProgressUpdate {
  completed: number;
  tokens?: number;
  /** The newest value of the metric (appended to its history). */
  metric?: number;
}

export class ProgressBar {
  private readonly startedAt: number;
  private readonly history: number[] = [];
  private lastDrawnAt = Number.NEGATIVE_INFINITY;
  private state: ProgressState;
  private finished = false;

  constructor(private readonly options: ProgressOptions) {
    this.startedAt = this.now();
    this.state = {
      label: options.label,
      completed: 0,
      total: options.total,
      unit: options.unit ?? "steps",
      elapsedMs: 0,
      ...(options.metricName === undefined ? {} : { metricName: options.metricName }),
      metricHistory: this.history,
    };
  }

  update(update: ProgressUpdate): void {
    if (update.metric !== undefined) this.history.push(update.metric);
    this.state = {
      ...this.state,
      completed: update.completed,
      ...(update.tokens === undefined ? {} : { tokens: update.tokens }),
      elapsedMs: this.now() - this.startedAt,
    };
    const interval = this.options.isTTY ? 100 : (this.options.intervalMs ?? 10_000);
    if (this.state.elapsedMs - this.lastDrawnAt >= interval) this.draw();
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.state = { ...this.state, elapsedMs: this.now() - this.startedAt };
    this.draw();
    if (this.options.isTTY) this.options.write("\n");
  }

  private draw(): void {
    this.lastDrawnAt = this.state.elapsedMs;
    const line = formatProgressLine(this.state, this.options.columns ?? 80);
    this.options.write(this.options.isTTY ? `\r${line}\u001b[K` : `${line}\n`);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
