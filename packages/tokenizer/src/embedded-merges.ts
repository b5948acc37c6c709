/**
 * A compact form of a tokenizer.json's BPE merges for embedding in a bundle: each merge as the vocabulary ids of
 * its two parts, "a,b,a,b,…" in base 36, instead of the two strings (MiniMind's 6,108 merges pack 8 kB
 * smaller this way). The build (tsup.config.ts) applies `compactMerges` to the embedded file and
 * `expandMerges` restores the file's own form when the module loads, so the tokenizer sees exactly the object
 * in data/tokenizer.json. Not here: reading tokenizer.json files from disk (`tokenizer-json.ts`).
 */

interface BpeJson {
  model: { vocab: Record<string, number>; merges: unknown };
}

function bpeModel(json: unknown, where: string): BpeJson["model"] {
  const model = (json as Partial<BpeJson> | null)?.model;
  if (typeof model !== "object" || model === null || typeof model.vocab !== "object") {
    throw new Error(`[tokenizer] ${where}: the tokenizer JSON has no model.vocab`);
  }
  return model;
}

/** The JSON with `model.merges` as a string of vocabulary-id pairs; every part must be in the vocabulary. */
export function compactMerges(json: unknown): unknown {
  const model = bpeModel(json, "compactMerges");
  if (!Array.isArray(model.merges)) throw new Error("[tokenizer] compactMerges: model.merges is not an array");
  const ids: string[] = [];
  model.merges.forEach((merge: unknown, index: number) => {
    const parts = typeof merge === "string" ? merge.split(" ") : merge;
    if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0] !== "string" || typeof parts[1] !== "string") {
      throw new Error(`[tokenizer] compactMerges: merge ${index} (${JSON.stringify(merge)}) is not a pair of strings`);
    }
    if (typeof merge === "string") {
      throw new Error(
        `[tokenizer] compactMerges: merge ${index} is in the "a b" string form; only [a, b] pairs are compacted`,
      );
    }
    for (const part of parts) {
      const id = model.vocab[part];
      if (id === undefined) {
        throw new Error(
          `[tokenizer] compactMerges: merge ${index} part ${JSON.stringify(part)} is not in the vocabulary`,
        );
      }
      ids.push(id.toString(36));
    }
  });
  return { ...(json as object), model: { ...model, merges: ids.join(",") } };
}

/** The inverse of `compactMerges`; JSON whose merges are already pairs is returned as it is. */
export function expandMerges(json: unknown): unknown {
  const model = bpeModel(json, "expandMerges");
  if (typeof model.merges !== "string") return json;
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(model.vocab)) tokens[id] = token;
  const ids = model.merges === "" ? [] : model.merges.split(",");
  const merges: [string, string][] = [];
  for (let index = 0; index < ids.length; index += 2) {
    const first = tokens[Number.parseInt(ids[index] as string, 36)];
    const second = tokens[Number.parseInt(ids[index + 1] as string, 36)];
    if (first === undefined || second === undefined) {
      throw new Error(`[tokenizer] expandMerges: merge ${index / 2} names an id outside the vocabulary`);
    }
    merges.push([first, second]);
  }
  return { ...(json as object), model: { ...model, merges } };
}
