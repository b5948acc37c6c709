import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { loadModel, weightFormat } from "./model-loading.js";

const fixture = new URL("../../../../../shared/fixtures/model/dense-tiny", import.meta.url).pathname;

describe("--weights", () => {
  it("accepts float32, bf16 and int8 and refuses anything else by name", () => {
    expect(["float32", "bf16", "int8"].map(weightFormat)).toEqual(["float32", "bf16", "int8"]);
    expect(() => weightFormat("int4")).toThrow(InvalidArgumentError);
    expect(() => weightFormat("int4")).toThrow(/"int4" is not one of float32, bf16, int8/);
  });

  it("loads the model's projections in that format", async () => {
    const { textModel } = await loadModel(fixture, undefined, "int8");
    expect(textModel.model.weightFormat).toBe("int8");
    textModel.model.dispose();
    const plain = await loadModel(fixture);
    expect(plain.textModel.model.weightFormat).toBe("float32");
    plain.textModel.model.dispose();
  });
});
