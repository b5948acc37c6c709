import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { InterruptedError, watchInterrupt } from "./interrupt.js";

describe("watchInterrupt", () => {
  it("aborts on the first Ctrl-C, forces on the second, and stops listening when disposed", () => {
    const source = new EventEmitter();
    const told: string[] = [];
    let forced = 0;
    const watch = watchInterrupt({ source, notify: (m) => told.push(m), force: () => forced++ });
    expect(watch.interrupted).toBe(false);
    expect(() => watch.throwIfInterrupted()).not.toThrow();

    source.emit("SIGINT");
    expect(watch.interrupted).toBe(true);
    expect(watch.signal.reason).toBeInstanceOf(InterruptedError);
    expect(() => watch.throwIfInterrupted()).toThrow(InterruptedError);
    expect(told).toEqual(["stopping after the current step; press Ctrl-C again to quit now"]);
    expect(forced).toBe(0);

    source.emit("SIGINT");
    expect(forced).toBe(1);

    watch.dispose();
    expect(source.listenerCount("SIGINT")).toBe(0);
  });
});
