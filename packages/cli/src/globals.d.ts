/** Replaced at build time by tsup (`define`) with the version in package.json. */
declare const __MINIMIND_CLI_VERSION__: string;
