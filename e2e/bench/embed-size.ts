// Bench: what the embeddable player costs to download. Builds the project (vite.config.ts, nothing written) and sizes
// embed.js, the element's module and each chunk it imports, minified, gzipped and brotli'd, with hls.js's share of
// each; then builds the element once more with hls.js left out, which is exactly the project's own code.
import { resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build, type Rolldown } from 'vite';

const ROOT = resolve(import.meta.dirname, '../..');
const ELEMENT_ENTRY = resolve(ROOT, 'client/embed/index.ts');
/** The budget for the project's own code in the embed, gzipped. */
export const OWN_CODE_LIMIT_GZIP_BYTES = 30_000;
const HLS_MODULE = /[\\/]node_modules[\\/]hls\.js[\\/]/;

interface Sized {
  file: string;
  /** How the embed loads it: the loader, the element's module, a chunk it imports, or one it imports on use. */
  role: string;
  min: number;
  gzip: number;
  brotli: number;
  /** Share of the file that is hls.js, by rendered (pre-minification) length of its modules. */
  hlsShare: number;
}

export interface EmbedSizeReport {
  files: Sized[];
  /** The element with hls.js external: the project's own code, minified and gzipped. */
  own: { min: number; gzip: number; brotli: number };
}

function sizes(code: string | Uint8Array): { min: number; gzip: number; brotli: number } {
  const bytes = typeof code === 'string' ? Buffer.from(code) : code;
  return {
    min: bytes.byteLength,
    gzip: gzipSync(bytes, { level: 9 }).byteLength,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
  };
}

function outputOf(result: Awaited<ReturnType<typeof build>>): Rolldown.OutputBundle[string][] {
  const outputs = Array.isArray(result) ? result : [result];
  return outputs.flatMap((o) => ('output' in o ? o.output : []));
}

function hlsShare(chunk: Rolldown.OutputChunk): number {
  let hls = 0;
  let all = 0;
  for (const [id, module] of Object.entries(chunk.modules)) {
    all += module.renderedLength;
    if (HLS_MODULE.test(id)) hls += module.renderedLength;
  }
  return all === 0 ? 0 : hls / all;
}

export async function measureEmbedSize(): Promise<EmbedSizeReport> {
  const output = outputOf(await build({ root: ROOT, configFile: resolve(ROOT, 'vite.config.ts'), logLevel: 'warn', build: { write: false } }));
  const byName = new Map(output.map((file) => [file.fileName, file]));
  const loader = byName.get('embed.js');
  const element = output.find((file): file is Rolldown.OutputChunk => file.type === 'chunk' && file.facadeModuleId === ELEMENT_ENTRY);
  if (loader?.type !== 'asset' || !element) throw new Error('the build has no embed.js or no element entry (client/embed/index.ts)');
  const files: Sized[] = [{ file: loader.fileName, role: 'loader', ...sizes(loader.source), hlsShare: 0 }];
  const seen = new Set<string>();
  const visit = (fileName: string, role: string): void => {
    const chunk = byName.get(fileName);
    if (seen.has(fileName) || chunk?.type !== 'chunk') return;
    seen.add(fileName);
    files.push({ file: fileName, role, ...sizes(chunk.code), hlsShare: hlsShare(chunk) });
    chunk.imports.forEach((name) => visit(name, role === 'on use' ? 'on use' : 'import'));
    chunk.dynamicImports.forEach((name) => visit(name, 'on use'));
  };
  visit(element.fileName, 'element');

  // The element alone, hls.js external: the bytes the project itself adds (chunks it loads on use included).
  const own = outputOf(
    await build({
      root: ROOT,
      configFile: false,
      logLevel: 'warn',
      build: {
        write: false,
        target: 'es2022',
        rollupOptions: {
          input: ELEMENT_ENTRY,
          preserveEntrySignatures: 'exports-only',
          external: (id) => id === 'hls.js' || id.startsWith('hls.js/'),
        },
      },
    }),
  ).filter((file): file is Rolldown.OutputChunk => file.type === 'chunk');
  return { files, own: sizes(own.map((chunk) => chunk.code).join('\n')) };
}

const kb = (bytes: number): string => (bytes / 1000).toFixed(1);

export function embedSizeTable(report: EmbedSizeReport): { header: string[]; rows: string[][]; verdict: string } {
  const header = ['file', 'loaded as', 'min KB', 'gzip KB', 'brotli KB', 'hls.js share'];
  const rows = report.files.map((f) => [f.file, f.role, kb(f.min), kb(f.gzip), kb(f.brotli), `${Math.round(f.hlsShare * 100)} %`]);
  const upFront = report.files.filter((f) => f.role !== 'on use');
  const total = (key: 'min' | 'gzip' | 'brotli'): number => upFront.reduce((sum, f) => sum + f[key], 0);
  rows.push(['total before playback', '', kb(total('min')), kb(total('gzip')), kb(total('brotli')), '']);
  rows.push(['project code (hls.js external)', '', kb(report.own.min), kb(report.own.gzip), kb(report.own.brotli), '0 %']);
  const within = report.own.gzip <= OWN_CODE_LIMIT_GZIP_BYTES;
  const verdict = `Project code ${kb(report.own.gzip)} KB gzipped: ${within ? 'within' : 'OVER'} the ${kb(OWN_CODE_LIMIT_GZIP_BYTES)} KB limit.`;
  return { header, rows, verdict };
}
