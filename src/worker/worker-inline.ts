// Stands in for dist/worker-inline.js, which scripts/build-worker-inline.mjs makes: the Worker's whole
// bundled source as one string, started from a blob: URL where a bundler left dist/worker.js behind. The
// package build keeps `import('./worker-inline.js')` external, so the built page client loads that file; from
// the sources (tests, `icebridge serve` bundling on request) this module is found instead, and its
// `undefined` makes the page client report why the Worker script itself did not start.
const source: string | undefined = undefined;
export default source;
