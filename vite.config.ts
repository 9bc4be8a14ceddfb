// Builds the web pages (broadcaster, viewer, index, embed) and the embeddable player element into dist/client, served
// by the Node server: every script and style under assets/ with a content-hashed name, plus the unhashed classic-script
// loader embed.js naming the element's hashed module, and gzip/brotli copies of text files for the server to send.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin, type Rolldown } from 'vite';
import { ASSETS_PREFIX, EMBED_LOADER_PATH } from './shared/embed-paths.ts';

const pages = resolve(import.meta.dirname, 'client/pages');
const outDir = resolve(import.meta.dirname, 'dist/client');
/** The element's ES module (client/embed/index.ts), an entry of its own so embed.js can import it. */
const ELEMENT_ENTRY = resolve(import.meta.dirname, 'client/embed/index.ts');

/**
 * The loader: finds the server it came from in its own URL (so it works from any origin or edge) and imports the
 * element's module from there, preloading the chunks that module imports so they load in parallel rather than one
 * import level at a time. A classic script, so `<script async>` works and `document.currentScript` is set.
 */
function embedLoaderSource(modulePath: string, chunkPaths: string[]): string {
  return (
    `// Swarmcast embed loader: <script src="https://HOST${EMBED_LOADER_PATH}" async></script> defines <swarmcast-player>, served by HOST.\n` +
    `(function(){var s=document.currentScript||document.querySelector('script[src$="${EMBED_LOADER_PATH}"]'),b=s&&s.src||location.href;` +
    `${JSON.stringify(chunkPaths)}.forEach(function(p){var l=document.createElement("link");l.rel="modulepreload";l.href=new URL(p,b).href;document.head.appendChild(l)});` +
    `import(new URL(${JSON.stringify(modulePath)},b).href).catch(function(e){console.error("[swarmcast] could not load the player from "+b,e)})})();\n`
  );
}

/** Every chunk `chunk` imports statically, directly or not. */
function staticImportsOf(chunk: Rolldown.OutputChunk, bundle: Rolldown.OutputBundle): string[] {
  const found = new Set<string>();
  const visit = (fileName: string): void => {
    const imported = bundle[fileName];
    if (found.has(fileName) || imported?.type !== 'chunk') return;
    found.add(fileName);
    imported.imports.forEach(visit);
  };
  chunk.imports.forEach(visit);
  return [...found];
}

function embedLoader(): Plugin {
  return {
    name: 'swarmcast-embed-loader',
    apply: 'build',
    generateBundle(_options, bundle) {
      const element = Object.values(bundle).find((file) => file.type === 'chunk' && file.isEntry && file.facadeModuleId === ELEMENT_ENTRY);
      if (element?.type !== 'chunk') this.error(`no entry chunk for ${ELEMENT_ENTRY}`);
      const source = embedLoaderSource(`./${element.fileName}`, staticImportsOf(element, bundle).map((fileName) => `./${fileName}`));
      this.emitFile({ type: 'asset', fileName: EMBED_LOADER_PATH.slice(1), source });
    },
  };
}

/** Text files are sent compressed: the server (sirv) picks the .br or .gz copy the client accepts. */
function precompress(): Plugin {
  return {
    name: 'swarmcast-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      for (const file of Object.values(bundle)) {
        if (!/\.(js|css|html)$/.test(file.fileName)) continue;
        const source = file.type === 'chunk' ? file.code : file.source;
        const path = resolve(options.dir ?? outDir, file.fileName);
        writeFileSync(`${path}.gz`, gzipSync(source, { level: 9 }));
        writeFileSync(`${path}.br`, brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

export default defineConfig({
  root: pages,
  publicDir: false,
  plugins: [embedLoader(), precompress()],
  // bittorrent-tracker's client (in the p2p chunk, via p2p-media-loader) tells browser from Node by `process.browser`.
  define: { 'process.browser': 'true' },
  build: {
    outDir,
    assetsDir: ASSETS_PREFIX.slice(1, -1),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        index: resolve(pages, 'index.html'),
        broadcast: resolve(pages, 'broadcast.html'),
        watch: resolve(pages, 'watch.html'),
        embed: resolve(pages, 'embed.html'),
        'swarmcast-player': ELEMENT_ENTRY,
      },
      // The element's module keeps its exports (SwarmcastPlayerElement) for pages that import it.
      preserveEntrySignatures: 'exports-only',
      output: {
        // hls.js in a chunk of its own, shared by /watch and the element, whose name changes only when hls.js does.
        codeSplitting: { groups: [{ name: 'hls', test: /node_modules[\\/]hls\.js[\\/]/ }] },
      },
    },
  },
  experimental: {
    // Chunks and assets the element's module loads are found next to it (relative to import.meta.url), whichever
    // site embeds it; pages keep absolute paths (the iframe page is served at /embed/NAME).
    renderBuiltUrl: (_filename, { hostType }) => (hostType === 'js' ? { relative: true } : undefined),
  },
});
