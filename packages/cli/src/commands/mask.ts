/** `minimind mask`: the group of attention-mask commands (today `mask show`); prints its help without one. */
import type { CliCommand } from "../command.js";
import { maskShowCommand } from "./mask-show.js";

export const maskCommand: CliCommand = {
  name: "mask",
  summary: "inspect attention-mask strategies (mask show)",
  subcommands: [maskShowCommand],
};
