import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The renderer is a plain web app (no Node): Electron loads the built files from the asar, and browser mode
// serves the same build on 127.0.0.1. Relative asset paths so that both work from any base.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    target: 'chrome130',
  },
});
