// Entry point: reads the configuration, starts this process's role and prints where to go.
import { multivariantPath } from '../shared/playback-path.ts';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { log, setLogLevel } from './log.ts';
import { SrtUnavailableError } from './ingest/index.ts';

function main(): void {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`swarmcast: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  setLogLevel(config.logLevel);
  const app = createApp(config);
  app.server.listen(config.port, config.host, async () => {
    let rtmpPort: number | undefined;
    if (app.rtmp && config.rtmpPort !== undefined) {
      try {
        rtmpPort = await app.rtmp.listen(config.rtmpPort, config.host);
      } catch (err) {
        process.stderr.write(`swarmcast: cannot listen for RTMP on ${config.host}:${config.rtmpPort} (${(err as Error).message}); set RTMP_PORT (off: no RTMP)\n`);
        process.exit(2);
      }
    }
    // SRT needs libsrt and a C compiler (the listener is built on first use): without them the origin runs without SRT.
    let srtPort: number | undefined;
    if (app.srt && config.srtPort !== undefined) {
      try {
        srtPort = await app.srt.listen(config.srtPort, config.host);
      } catch (err) {
        const why = err instanceof SrtUnavailableError ? err.message : `cannot listen on UDP ${config.host}:${config.srtPort} (${(err as Error).message})`;
        process.stderr.write(`swarmcast: running without SRT ingest: ${why}; set SRT_PORT (off: no SRT)\n`);
      }
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const base = `${app.secure ? 'https' : 'http'}://${host}:${port}`;
    // An edge has no ingest: broadcasters publish to its first origin.
    const publishBase = config.role === 'edge' ? config.originUrls[0]!.replace(/\/$/, '') : base;
    process.stdout.write(
      [
        `Swarmcast (${config.role}) listening on ${base}`,
        ...(config.role === 'edge' ? [`  origins:    ${config.originUrls.join(', ')}`] : []),
        `  broadcast:  ${publishBase}/broadcast?stream=demo`,
        `  watch:      ${base}/watch?stream=demo`,
        `  playback:   ${base}${multivariantPath('demo')}`,
        ...(rtmpPort === undefined ? [] : [`  rtmp:       rtmp://${host}:${rtmpPort}/live/demo (OBS: server rtmp://${host}:${rtmpPort}/live, stream key demo?key=KEY)`]),
        ...(srtPort === undefined ? [] : [`  srt:        srt://${host}:${srtPort}?streamid=publish:demo:KEY`]),
        `  health:     ${base}/healthz   metrics: ${base}/metrics`,
        '',
      ].join('\n'),
    );
  });
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    log('info', 'server.stopping', { signal });
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main();
