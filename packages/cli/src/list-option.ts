/**
 * A commander value parser for comma-separated lists drawn from a fixed set (`--kinds next-line,author`):
 * unknown entries are refused with the allowed ones named (usage error, exit 2); repeats are dropped.
 */
import { InvalidArgumentError } from "commander";

export function listOf<Name extends string>(allowed: readonly Name[]): (text: string) => Name[] {
  return (text) => {
    const names = text
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "");
    if (names.length === 0) throw new InvalidArgumentError(`give one or more of ${allowed.join(", ")}.`);
    for (const name of names) {
      if (!(allowed as readonly string[]).includes(name)) {
        throw new InvalidArgumentError(`"${name}" is not one of ${allowed.join(", ")}.`);
      }
    }
    return [...new Set(names)] as Name[];
  };
}
