/**
 * One tensor world per process (issue #16): CommonJS code that `require`s @minimind/tensor beside the ES-module
 * model must reach the same module — one backend, one scope stack, one `Tensor` class — because the packages
 * ship ESM only and Node ≥ 20.19 `require`s ES modules. Runs __fixtures__/one-tensor-world.cjs in a plain Node
 * process against the built packages (inside vitest, imports go through Vite's module runner, not Node's
 * loader, so the question cannot be asked here).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("./__fixtures__/one-tensor-world.cjs", import.meta.url));
const packageDirectory = fileURLToPath(new URL("..", import.meta.url));

describe("require('@minimind/tensor') beside the ESM model", () => {
  it("shares one backend, one Tensor class and one scope stack", () => {
    const output = execFileSync(process.execPath, [script], { cwd: packageDirectory, encoding: "utf8" });
    const facts = JSON.parse(output.trim().split("\n").at(-1) as string);
    expect(facts.sameModule).toBe(true);
    expect(facts.sameBackend).toBe(true);
    expect(facts.backend).toBe("cpu");
    // the required copy's int32 tensor passes the model's `instanceof Tensor` check
    expect(facts.accepted).toBe(true);
    expect(facts.logitsShape).toEqual([1, 4, 64]);
    // a scope opened through either specifier frees every tensor the forward pass created …
    expect(facts.afterScope).toBe(facts.before);
    expect(facts.afterImportedScope).toBe(facts.before);
    // … and the count does see them: unscoped, the same pass leaves over a hundred alive
    expect(facts.afterUnscoped - facts.before).toBeGreaterThan(100);
  });
});
