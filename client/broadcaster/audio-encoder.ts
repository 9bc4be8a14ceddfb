// The AudioEncoder: AAC-LC where the browser has it, else Opus; reports its decoder config with the first output.
import { TypedEmitter } from '../../shared/events.ts';
import { BroadcastError, encoderFailure } from './errors.ts';

export type AudioTrackEncoderEvents = {
  chunk: [EncodedAudioChunk];
  error: [BroadcastError];
};

export interface AudioEncoderSettings {
  sampleRate: number;
  channels: number;
  bitrate: number;
  /** Tried in order. */
  codecs: readonly string[];
}

/** The first codec of `settings.codecs` this browser encodes, with its config; null when none is. */
export async function pickAudioConfig(settings: AudioEncoderSettings): Promise<AudioEncoderConfig | null> {
  if (typeof AudioEncoder === 'undefined') return null;
  for (const codec of settings.codecs) {
    const config: AudioEncoderConfig = {
      codec,
      sampleRate: settings.sampleRate,
      numberOfChannels: settings.channels,
      bitrate: settings.bitrate,
    };
    try {
      if ((await AudioEncoder.isConfigSupported(config)).supported) return config;
    } catch {
      // An unknown codec string rejects instead of answering "unsupported"; try the next one.
    }
  }
  return null;
}

export class AudioTrackEncoder extends TypedEmitter<AudioTrackEncoderEvents> {
  readonly config: AudioEncoderConfig;
  #encoder: AudioEncoder;
  #decoderConfig: AudioDecoderConfig | undefined;
  #closed = false;

  /** `config` comes from `pickAudioConfig`, with the sample rate and channels of the audio actually captured. */
  constructor(config: AudioEncoderConfig) {
    super();
    this.config = config;
    this.#encoder = new AudioEncoder({
      output: (chunk, metadata) => {
        if (!this.#decoderConfig) this.#decoderConfig = metadata?.decoderConfig ?? { codec: config.codec, sampleRate: config.sampleRate, numberOfChannels: config.numberOfChannels };
        this.emit('chunk', chunk);
      },
      error: (err) => {
        if (this.#closed) return;
        this.emit('error', encoderFailure('audio', err));
      },
    });
    this.#encoder.configure(config);
  }

  /** Known after the first output; carries the Opus header or AudioSpecificConfig when the browser gives one. */
  get decoderConfig(): AudioDecoderConfig | undefined {
    return this.#decoderConfig;
  }

  /** Takes ownership of `data` and closes it. */
  encode(data: AudioData): void {
    if (this.#closed) {
      data.close();
      return;
    }
    try {
      this.#encoder.encode(data);
    } finally {
      data.close();
    }
  }

  async flush(): Promise<void> {
    if (this.#closed || this.#encoder.state !== 'configured') return;
    await this.#encoder.flush();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#encoder.state !== 'closed') this.#encoder.close();
    this.removeAllListeners();
  }
}
