// What a ladder costs the machine, estimated before its worker starts (from figures measured on the default ladder),
// and whether the CPU budget (TRANSCODE_CPU_BUDGET) takes it.

/** A picture size at a frame rate: what the cost of decoding or encoding it scales with. */
interface Picture {
  width: number;
  height: number;
}

/**
 * Cores per decoded pixel per second: a 1280×720 30 fps H.264 source took 0.07 core to decode (one thread) on the
 * reference machine (`npm run bench -- transcode`).
 */
const DECODE_CORES_PER_PIXEL_S = 0.07 / (1280 * 720 * 30);
/**
 * One rung's encoder (libx264 veryfast zerolatency, with its scaler): a fixed part and a part per pixel per second,
 * from the measured 0.11 core for 854×480 and 0.05 for 426×240, both at 30 fps.
 */
const ENCODE_CORES_PER_PIXEL_S = (0.11 - 0.05) / ((854 * 480 - 426 * 240) * 30);
const ENCODE_FIXED_CORES = 0.05 - ENCODE_CORES_PER_PIXEL_S * 426 * 240 * 30;
/** Taken for a source whose frame rate is not known. */
const DEFAULT_FRAMERATE = 30;

/** Cores a worker will use to decode `source` once and encode `rungs`, at `framerate` frames per second. */
export function estimateCores(source: Picture, rungs: readonly Picture[], framerate = DEFAULT_FRAMERATE): number {
  const decode = DECODE_CORES_PER_PIXEL_S * source.width * source.height * framerate;
  const encode = rungs.reduce((sum, rung) => sum + ENCODE_FIXED_CORES + ENCODE_CORES_PER_PIXEL_S * rung.width * rung.height * framerate, 0);
  return decode + encode;
}

/**
 * Why a new worker estimated at `estimate` cores does not fit `budget` cores beside workers using `running` cores
 * (each measured, or estimated while it has no measurement yet); undefined when it fits.
 */
export function overBudget(budget: number, running: readonly number[], estimate: number): string | undefined {
  const used = running.reduce((sum, cores) => sum + cores, 0);
  if (used + estimate <= budget) return undefined;
  const round = (cores: number): string => cores.toFixed(2);
  return `its ladder needs about ${round(estimate)} cores and ${running.length} running workers use ${round(used)}, over the budget (TRANSCODE_CPU_BUDGET=${budget}): published with the source rendition alone`;
}
