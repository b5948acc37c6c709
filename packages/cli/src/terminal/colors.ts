/**
 * ANSI colors that switch themselves off: on only for a TTY, never when NO_COLOR is set (https://no-color.org,
 * any non-empty value) or TERM is "dumb"; FORCE_COLOR (non-empty, not "0") turns them on for a pipe. A handful
 * of styles, no dependency. Not a general styling library.
 */

export interface Colors {
  readonly enabled: boolean;
  bold: (text: string) => string;
  dim: (text: string) => string;
  red: (text: string) => string;
  green: (text: string) => string;
  yellow: (text: string) => string;
  cyan: (text: string) => string;
}

/** Should a stream with this TTY state get colors under this environment? */
export function colorsWanted(isTTY: boolean, environment: Readonly<Record<string, string | undefined>>): boolean {
  if ((environment.NO_COLOR ?? "") !== "") return false;
  const force = environment.FORCE_COLOR ?? "";
  if (force !== "" && force !== "0") return true;
  if (environment.TERM === "dumb") return false;
  return isTTY;
}

function style(enabled: boolean, open: number, close: number): (text: string) => string {
  return enabled ? (text) => `\u001b[${open}m${text}\u001b[${close}m` : (text) => text;
}

export function createColors(enabled: boolean): Colors {
  return {
    enabled,
    bold: style(enabled, 1, 22),
    dim: style(enabled, 2, 22),
    red: style(enabled, 31, 39),
    green: style(enabled, 32, 39),
    yellow: style(enabled, 33, 39),
    cyan: style(enabled, 36, 39),
  };
}
