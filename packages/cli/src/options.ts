/**
 * Value parsers for commander options and arguments. Numbers are accepted only in plain decimal notation:
 * `1e3`, `0x10`, `1_000`, ` 12`, `Infinity` and the empty string are refused with the reason (commander turns
 * the thrown InvalidArgumentError into a usage error, exit code 2). A float may use an exponent (`3e-4` is
 * the natural way to write a learning rate); an integer may not. Not here: option declarations themselves,
 * which live with each command.
 */
import { InvalidArgumentError } from "commander";

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export interface RangeOptions {
  min?: number;
  max?: number;
}

function checkRange(value: number, text: string, { min, max }: RangeOptions): number {
  if (min !== undefined && value < min) throw new InvalidArgumentError(`"${text}" is below the minimum ${min}.`);
  if (max !== undefined && value > max) throw new InvalidArgumentError(`"${text}" is above the maximum ${max}.`);
  return value;
}

/** Parses a decimal integer such as `42` or `-3`; refuses exponents, hex, fractions and unsafe magnitudes. */
export function parseInteger(text: string, range: RangeOptions = {}): number {
  if (!INTEGER.test(text)) {
    throw new InvalidArgumentError(`"${text}" is not a decimal integer (write digits only, e.g. 1000).`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`"${text}" is too large.`);
  return checkRange(value, text, range);
}

/** Parses a finite decimal number such as `0.5`, `.5` or `3e-4`; refuses hex, `Infinity`, `NaN` and blanks. */
export function parseDecimal(text: string, range: RangeOptions = {}): number {
  if (!DECIMAL.test(text)) throw new InvalidArgumentError(`"${text}" is not a decimal number (e.g. 0.5 or 3e-4).`);
  const value = Number(text);
  if (!Number.isFinite(value)) throw new InvalidArgumentError(`"${text}" is out of range.`);
  return checkRange(value, text, range);
}

/** An option parser for integers within a range, for `.option("--seed <n>", "…", integer({ min: 0 }))`. */
export function integer(range: RangeOptions = {}): (text: string) => number {
  return (text) => parseInteger(text, range);
}

/** An option parser for decimal numbers within a range. */
export function decimal(range: RangeOptions = {}): (text: string) => number {
  return (text) => parseDecimal(text, range);
}

/** An option parser for a fraction in [0, 1), e.g. a held-out share. */
export function fraction(text: string): number {
  const value = parseDecimal(text, { min: 0 });
  if (value >= 1) throw new InvalidArgumentError(`"${text}" must be below 1 (a share such as 0.05).`);
  return value;
}
