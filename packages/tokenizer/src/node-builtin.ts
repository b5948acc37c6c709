/**
 * Node built-ins for the tokenizer's file helpers (`Tokenizer.fromPretrained`, `saveTrainedTokenizer`), taken
 * from `process.getBuiltinModule` (Node ≥ 20.16) instead of an `import`, so that a browser bundle of the package
 * has nothing Node-only to resolve. Not a file-system abstraction.
 */

/** The built-in `specifier`, or an Error naming `caller` where there is no Node.js (a browser). */
export function nodeBuiltin<Module>(specifier: string, caller: string): Module {
  const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const builtin = host?.getBuiltinModule?.(specifier);
  if (builtin === undefined) {
    throw new Error(
      `[tokenizer] ${caller} reads and writes files and needs Node.js ≥ 20.16; in a browser, pass the file contents to new Tokenizer(tokenizerJson, tokenizerConfig)`,
    );
  }
  return builtin as Module;
}
