// Electron 45's main process runs Node 22, so the suite must too. npm scripts put node_modules/.bin first on
// PATH, where the `node` dev dependency provides Node 22; this guard fails loudly if that ever stops being so.
const wanted = Number(process.argv[2]);
const major = Number(process.versions.node.split('.')[0]);
if (major !== wanted) {
  console.error(
    `Relink's tests must run on Node ${wanted} (Electron 45's Node), but this is Node ${process.versions.node}. ` +
      'Run them through npm (npm test), which uses the Node from the "node" dev dependency.',
  );
  process.exit(1);
}
