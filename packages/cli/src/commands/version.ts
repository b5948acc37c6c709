/** `minimind version`: prints the CLI version. */
import type { Command } from "../command.js";
import { version } from "../version.js";

export const versionCommand: Command = {
  name: "version",
  summary: "Print the version of @minimind/cli.",
  usage: "Usage: minimind version\n\nPrints the version of @minimind/cli.",
  async run(_argv, io) {
    io.stdout(`${version}\n`);
    return 0;
  },
};
