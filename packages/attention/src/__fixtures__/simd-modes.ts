/**
 * The builds of the attention kernel a test runs on: wasm relaxed SIMD (skipped, with the reason, where this
 * engine lacks it: Node 20), plain wasm SIMD, and the JavaScript loops ("off"). `useSimdMode` switches to one
 * for the enclosing describe block and restores the previous build after it.
 */
import { relaxedSimdSupported } from "@minimind/tensor/internals";
import { afterAll, beforeAll } from "vitest";
import { type AttentionSimdMode, attentionSimdMode, setAttentionSimd } from "../wasm-kernels.js";

export const simdModes: { mode: AttentionSimdMode; skip: string | false }[] = [
  { mode: "relaxed", skip: relaxedSimdSupported() ? false : `no relaxed SIMD in Node ${process.versions.node}` },
  { mode: "simd", skip: false },
  { mode: "off", skip: false },
];

export function useSimdMode(mode: AttentionSimdMode): void {
  let previous: AttentionSimdMode = "off";
  beforeAll(() => {
    previous = attentionSimdMode();
    setAttentionSimd(mode);
  });
  afterAll(() => setAttentionSimd(previous));
}
