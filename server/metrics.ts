// Prometheus metrics of this process (prom-client), read from the stages' own counters at scrape time.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSources {
  liveStreams?: () => number;
  publishesTotal?: () => number;
  publishersDroppedTotal?: () => number;
  ingestBytes?: () => number;
  trackerRelayConnections?: () => number;
  targetDurationRaises?: () => number;
  /** The streams whose transcoding worker runs or restarts: its CPU (cores) and each rung's latest lag (ms). */
  transcodeWorkers?: () => readonly { stream: string; cpu?: number; rungs: readonly { rendition: string; lagMs: number | undefined }[] }[];
  transcodeRestarts?: () => number;
  transcodeRefused?: () => number;
}

export interface ServerMetrics {
  registry: Registry;
  httpResponses: Counter<'route' | 'status'>;
}

export function createMetrics(sources: MetricSources): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'swarmcast_process_' });
  const gauge = (name: string, help: string, read: (() => number) | undefined): void => {
    if (!read) return;
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  // A stage keeps its own count, which only grows: a counter set to it at each scrape.
  const counter = (name: string, help: string, read: (() => number) | undefined): void => {
    if (!read) return;
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  };
  gauge('swarmcast_live_streams', 'Publish sessions currently live.', sources.liveStreams);
  counter('swarmcast_publishes_total', 'Publish sessions admitted since start.', sources.publishesTotal);
  counter('swarmcast_publishers_dropped_total', 'Publishers dropped for protocol errors or timeouts.', sources.publishersDroppedTotal);
  gauge('swarmcast_ingest_bytes', 'Bytes received from the publishers live now.', sources.ingestBytes);
  gauge('swarmcast_edge_tracker_connections', "Viewers' tracker WebSockets this edge relays to its origin.", sources.trackerRelayConnections);
  counter(
    'swarmcast_target_duration_raises_total',
    'Times a published EXT-X-TARGETDURATION was raised by a segment longer than every one before (an encoder whose GOP grew).',
    sources.targetDurationRaises,
  );
  counter('swarmcast_transcode_restarts_total', 'Transcoding workers restarted after one died or fell behind real time.', sources.transcodeRestarts);
  counter('swarmcast_transcode_refused_total', 'Streams published without a ladder because transcoding was at its limit (TRANSCODE_MAX_STREAMS or TRANSCODE_CPU_BUDGET).', sources.transcodeRefused);
  const readWorkers = sources.transcodeWorkers;
  if (readWorkers) {
    new Gauge({
      name: 'swarmcast_transcode_worker_cpu_cores',
      help: "A stream's transcoding worker's CPU use over its last sample, in cores.",
      labelNames: ['stream'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const worker of readWorkers()) if (worker.cpu !== undefined) this.set({ stream: worker.stream }, worker.cpu);
      },
    });
    new Gauge({
      name: 'swarmcast_transcode_lag_ms',
      help: "How long a transcoded rung's latest frame took from the source frame's arrival, ms.",
      labelNames: ['stream', 'rendition'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const worker of readWorkers()) {
          for (const rung of worker.rungs) if (rung.lagMs !== undefined) this.set({ stream: worker.stream, rendition: rung.rendition }, rung.lagMs);
        }
      },
    });
  }
  const httpResponses = new Counter({
    name: 'swarmcast_http_responses_total',
    help: 'HTTP responses by route family and status.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  return { registry, httpResponses };
}
