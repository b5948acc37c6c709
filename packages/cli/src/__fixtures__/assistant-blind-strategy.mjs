// A strategy factory for tests: causal, except that no token attends an assistant token (built from the roles).
export function createStrategy({ roles }) {
  return {
    name: "assistant-blind",
    maskMod: (_batch, _head, query, key) => key <= query && (key === query || roles?.[key] !== "assistant"),
    chunkBoundaries: () => "nowhere",
  };
}
