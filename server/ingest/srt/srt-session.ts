// An accepted SRT publisher as an ingest session: its MPEG-TS demuxed into wire messages, admitted like every other path.
import type { WireMessage } from '../../../shared/protocol/index.ts';
import { log } from '../../log.ts';
import type { Ingest } from '../ingest.ts';
import { PushedStream } from '../pushed-stream.ts';
import { TsDemuxError, TsToWire } from '../ts/index.ts';
import type { SrtPublisher } from './server.ts';

/**
 * Admits `publisher`, vetted when its handshake was answered, into `ingest` once its connection is open (throws the
 * IngestError that refuses it: the SRT server then closes the connection) and feeds its transport stream through the
 * demuxer until either side ends. A publisher that sends nothing for `idleTimeoutMs` is ended as `idle-timeout`, as
 * an RTMP one is.
 */
export function admitSrtPublisher(publisher: SrtPublisher, ingest: Pick<Ingest, 'admit'>, idleTimeoutMs: number): void {
  const session = new PushedStream('srt', publisher.streamName, (reason, detail) => publisher.close(reason, detail), publisher.transcode);
  const demuxer = new TsToWire({ streamName: publisher.streamName });
  ingest.admit(session, publisher.remoteAddress, 'srt', { vetted: true });

  let lastDataMs = Date.now();
  const idleTimer = setInterval(() => {
    if (Date.now() - lastDataMs > idleTimeoutMs) session.close('idle-timeout', `nothing received for ${idleTimeoutMs} ms`);
  }, Math.min(idleTimeoutMs, 1000));
  idleTimer.unref();

  const forward = (messages: WireMessage[]): void => {
    for (const message of messages) if (message.type !== 'end') session.push(message);
  };
  const demux = (read: () => WireMessage[]): void => {
    try {
      forward(read());
    } catch (err) {
      if (!(err instanceof TsDemuxError)) log('error', 'srt.demux-error', { stream: publisher.streamName, reason: (err as Error).message });
      session.fail(err instanceof TsDemuxError ? err.message : 'the transport stream could not be read');
    }
  };
  publisher.on('data', (bytes) => {
    lastDataMs = Date.now();
    session.stats.bytesReceived += bytes.byteLength;
    demux(() => demuxer.push(bytes));
  });
  publisher.on('close', (reason, detail) => {
    clearInterval(idleTimer);
    if (!session.closed) demux(() => demuxer.end());
    session.close(reason, detail);
  });
}
