/**
 * Duplicate-key detection for JSON text. `JSON.parse` silently keeps the last of two equal keys, which would
 * let a hostile safetensors header describe one tensor twice; this scanner finds such keys in any object.
 * It runs only on text that `JSON.parse` has already accepted, so it is a small non-recursive state machine
 * (no stack overflow on deep nesting), not a JSON parser.
 */

/**
 * Returns the first key that occurs twice in one JSON object of `text`, with the dotted path of that object
 * ("" for the top level), or undefined when every object has distinct keys. Keys are compared after
 * unescaping, so `"a"` and `"\u0061"` are the same key. `text` must be valid JSON.
 */
export function findDuplicateJsonKey(text: string): { key: string; path: string } | undefined {
  // One frame per open container: objects track their keys, arrays track nothing.
  const frames: { keys: Set<string> | undefined; name: string }[] = [];
  let expectingKey = false;
  let pendingName = "";
  let index = 0;
  while (index < text.length) {
    const character = text[index];
    if (character === '"') {
      const end = endOfString(text, index);
      const frame = frames[frames.length - 1];
      if (expectingKey && frame?.keys !== undefined) {
        const key = JSON.parse(text.slice(index, end)) as string;
        if (frame.keys.has(key))
          return {
            key,
            path: frames
              .slice(1)
              .map((each) => each.name)
              .join("."),
          };
        frame.keys.add(key);
        pendingName = key;
        expectingKey = false;
      }
      index = end;
      continue;
    }
    if (character === "{") {
      frames.push({ keys: new Set(), name: pendingName });
      pendingName = "";
      expectingKey = true;
    } else if (character === "[") {
      frames.push({ keys: undefined, name: pendingName });
      pendingName = "";
    } else if (character === "}" || character === "]") {
      frames.pop();
    } else if (character === ",") {
      expectingKey = frames[frames.length - 1]?.keys !== undefined;
    }
    index++;
  }
  return undefined;
}

/** Index just past the closing quote of the JSON string that opens at `start`. */
function endOfString(text: string, start: number): number {
  let index = start + 1;
  while (index < text.length) {
    const character = text[index];
    if (character === "\\") index += 2;
    else if (character === '"') return index + 1;
    else index++;
  }
  return text.length;
}
