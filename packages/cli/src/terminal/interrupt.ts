/**
 * Ctrl-C for long-running commands (training, chat): the first SIGINT aborts an AbortSignal so the command
 * can finish its step, write a checkpoint and return exit code 130; a second SIGINT quits at once. Commands
 * pass `signal` to the libraries and call `throwIfInterrupted()` between units of work. Not here: what to
 * save on the way out (each command decides).
 */

/** Thrown (or used as the abort reason) when the user pressed Ctrl-C; program.ts maps it to exit code 130. */
export class InterruptedError extends Error {
  override name = "InterruptedError";
  constructor(message = "interrupted") {
    super(message);
  }
}

/** The part of `process` this module uses, so tests can send their own signals. */
export interface SignalSource {
  on: (event: "SIGINT", listener: () => void) => unknown;
  off: (event: "SIGINT", listener: () => void) => unknown;
}

export interface InterruptWatchOptions {
  source?: SignalSource;
  /** Told on the first Ctrl-C, e.g. "stopping after this step; Ctrl-C again to quit now". */
  notify?: (message: string) => void;
  /** What the first Ctrl-C says through `notify`. */
  message?: string;
  /** Called on the second Ctrl-C; default exits the process with 130. */
  force?: () => void;
}

export interface InterruptWatch {
  /** Aborted on the first Ctrl-C, with an InterruptedError as its reason. */
  readonly signal: AbortSignal;
  readonly interrupted: boolean;
  /** Throws the InterruptedError once Ctrl-C was pressed. */
  throwIfInterrupted: () => void;
  /** Stops listening (call in `finally`). */
  dispose: () => void;
}

/** Starts listening for Ctrl-C. */
export function watchInterrupt(options: InterruptWatchOptions = {}): InterruptWatch {
  const source = options.source ?? process;
  const force = options.force ?? (() => process.exit(130));
  const controller = new AbortController();
  const listener = () => {
    if (controller.signal.aborted) {
      force();
      return;
    }
    options.notify?.(options.message ?? "stopping after the current step; press Ctrl-C again to quit now");
    controller.abort(new InterruptedError());
  };
  source.on("SIGINT", listener);
  return {
    signal: controller.signal,
    get interrupted() {
      return controller.signal.aborted;
    },
    throwIfInterrupted: () => {
      if (controller.signal.aborted) throw controller.signal.reason;
    },
    dispose: () => {
      source.off("SIGINT", listener);
    },
  };
}
