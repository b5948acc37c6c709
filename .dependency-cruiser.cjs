/**
 * Import-graph gates for the monorepo's packages/* and dev tools/* (run by `pnpm check:graph`, part of `pnpm test`):
 * - no import cycles anywhere in package sources;
 * - no package reaching into another package's files (only `@minimind/<name>` public entry points);
 * - no package importing anything its package.json does not declare.
 * Layer direction (tensor ← attention ← model ← train ← cli) is checked on package.json dependencies by
 * scripts/check-package-boundaries.mjs.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Import cycles make module initialisation order-dependent and block tree-shaking.",
      from: { path: "^(packages|tools)/[^/]+/src" },
      to: { circular: true },
    },
    {
      name: "no-cross-package-relative-imports",
      severity: "error",
      comment: "Import another package by its name (@minimind/x), never by a path into its folder.",
      from: { path: "^(packages|tools)/([^/]+)/" },
      to: { path: "^(packages|tools)/", pathNot: "^$1/$2/" },
    },
    {
      name: "no-deep-package-imports",
      severity: "error",
      comment: "Only a package's public entry point (its exports map) may be imported, never src/ or dist/ files.",
      from: { path: "^(packages|tools)/" },
      to: { path: "node_modules/@minimind/[^/]+/(src|dist)/" },
    },
    {
      name: "no-undeclared-dependencies",
      severity: "error",
      comment: "Every imported package must be in this package's dependencies or devDependencies.",
      from: { path: "^(packages|tools)/" },
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that does not resolve (a missing package, or a path outside another package's exports map).",
      from: { path: "^(packages|tools)/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(dist|node_modules)/" },
    preserveSymlinks: true,
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    tsConfig: { fileName: "tsconfig.base.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".cjs", ".mjs", ".json"],
    },
  },
};
