/** `minimind version`: prints the CLI version (`--json` for `{"version"}`). Same as `minimind --version`. */
import type { CliCommand } from "../command.js";
import { version } from "../version.js";

export const versionCommand: CliCommand = {
  name: "version",
  summary: "print the version of @minimind/cli",
  configure(command) {
    command.option("--json", 'print {"name", "version"} as JSON');
  },
  async run({ options }, { io }) {
    io.stdout(options.json === true ? `${JSON.stringify({ name: "@minimind/cli", version })}\n` : `${version}\n`);
    return 0;
  },
};
