// Builds the web pages (broadcaster, viewer, index) into dist/client, served by the Node server.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const pages = resolve(import.meta.dirname, 'client/pages');

export default defineConfig({
  root: pages,
  publicDir: false,
  build: {
    outDir: resolve(import.meta.dirname, 'dist/client'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        index: resolve(pages, 'index.html'),
        broadcast: resolve(pages, 'broadcast.html'),
        watch: resolve(pages, 'watch.html'),
        embed: resolve(pages, 'embed.html'),
      },
    },
  },
});
