/** The CLI's version: injected by the build, read from package.json when running from sources (tests). */
export const version: string = typeof __MINIMIND_CLI_VERSION__ === "string" ? __MINIMIND_CLI_VERSION__ : "0.0.0-source";
