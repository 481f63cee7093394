/**
 * The "never" arrows of the project's architecture (README, "Layout"), checked by `npm run lint:deps`,
 * which `npm test` runs first. Engines are the folders under core/; a rule's comment says why.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'engine-knows-no-mcp',
      comment: 'An engine (core/) knows nothing of MCP or of the command line: it never imports tools/, server/ or bin/.',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(tools|server|bin)/' },
    },
    {
      name: 'tools-not-server',
      comment: 'Tools are wired by the server, never the other way round.',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^server/' },
    },
    {
      name: 'sandbox-knows-no-library',
      comment: 'The VM runner knows no library and no build lifecycle.',
      severity: 'error',
      from: { path: '^core/sandbox/' },
      to: { path: '^core/(library|builds)/' },
    },
    {
      name: 'model-imports-nothing',
      comment: 'core/model is the shared vocabulary: it imports nothing of the project.',
      severity: 'error',
      from: { path: '^core/model/' },
      to: { path: '^(core|tools|server|bench|bin)/', pathNot: '^core/model/' },
    },
    {
      name: 'no-folder-cycle',
      comment: 'No cycle between folders (parts).',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-file-cycle',
      comment: 'No cycle between files (type-only imports included).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-tests',
      comment: 'Code does not import tests.',
      severity: 'error',
      from: { pathNot: '^tests/' },
      to: { path: '^tests/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|sched-rust|fixtures)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    moduleSystems: ['es6'],
  },
};
