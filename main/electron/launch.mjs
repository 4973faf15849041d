// `npm start`: build the window (renderer) and the Electron shell, then run Relink in Electron.
//
// Where Electron's binary is not installed (this project's machines cannot download it), say so in one line,
// point at browser mode, and stop with a non-zero status before building anything.
import { spawn, spawnSync } from 'node:child_process';
import process from 'node:process';
import { findElectronBinary } from './electron-binary.mjs';

const electron = findElectronBinary();
if (!electron.path) {
  console.error(
    `Relink cannot open its desktop window because Electron is not installed here: ${electron.why}. Run \`npm run start:browser\` to use Relink in your browser instead.`,
  );
  process.exit(1);
}

// npm sets npm_execpath for scripts; run the builds with the same npm and Node.
const npm = process.env.npm_execpath
  ? { command: process.execPath, args: [process.env.npm_execpath] }
  : { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', args: [] };
const built = spawnSync(npm.command, [...npm.args, 'run', '--silent', 'build'], { stdio: 'inherit', shell: !process.env.npm_execpath && process.platform === 'win32' });
if (built.status !== 0) {
  console.error('Relink was not started because the build failed (see above).');
  process.exit(built.status || 1);
}

// ELECTRON_RUN_AS_NODE would make the binary a plain Node and ignore the app; never pass it on.
const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(electron.path, ['.', ...process.argv.slice(2)], { stdio: 'inherit', env, windowsHide: false });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (!child.killed) child.kill(signal);
  });
}
child.on('error', (err) => {
  console.error(`Relink could not start Electron (${electron.path}): ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
