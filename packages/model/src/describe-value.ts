/**
 * Short, safe descriptions of untrusted JSON values for error messages: at most 60 characters, and no
 * exception for values too deeply nested to stringify. Not a formatter for anything else.
 */

/** `value` as JSON, cut to 60 characters; a type name when it cannot be stringified. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? "a deeply nested array" : `a deeply nested ${typeof value}`;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
