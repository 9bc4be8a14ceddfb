// A test-side tap on the watch page's <video> (in its <swarmcast-player>'s shadow root): frames presented (requestVideoFrameCallback) and the audio level (Web Audio),
// for viewers whose media counters cannot be trusted (WebKitGTK).

/**
 * What the tap has seen since it was installed. WebKitGTK has no `webkitAudioDecodedByteCount` (Chromium) or
 * `mozHasAudio` (Firefox), and its `getVideoPlaybackQuality().totalVideoFrames` starts again from 0 whenever its
 * GStreamer pipeline flushes (a seek, a jump over a gap), so neither says "still decoding" across a run.
 */
export interface PlaybackTap {
  /** Frames presented, summed over the pipeline's flushes. */
  presentedFrames: number;
  /** Highest absolute sample seen at the element's audio output (the test source's tone has amplitude 0.2). */
  audioPeak: number;
  /** 100 ms audio reads in which the tone was there (peak above AUDIBLE_LEVEL). */
  audibleReads: number;
  /** 100 ms audio reads made. */
  audioReads: number;
  /** The AudioContext's state: `running` once it plays. */
  audioContext: string;
}

/** Half the test tone's 0.2 amplitude: well above silence and dither, well below the tone. */
export const AUDIBLE_LEVEL = 0.1;
export const AUDIO_READ_MS = 100;

/**
 * Page-side expression that installs the tap once and returns it. The element's audio is routed through an analyser to
 * the speakers, so what the tap hears is what the viewer hears. Plain text, so no driver has to serialise a function.
 */
export const INSTALL_PLAYBACK_TAP = `(() => {
  if (window.__playbackTap) return window.__playbackTap;
  const video = document.querySelector('swarmcast-player')?.shadowRoot?.querySelector('video');
  if (!video) throw new Error('the page has no <swarmcast-player> video to tap');
  const tap = { presentedFrames: 0, audioPeak: 0, audibleReads: 0, audioReads: 0, audioContext: 'none' };
  let lastPresented = null;
  const onFrame = (_now, meta) => {
    // presentedFrames starts again after a flush: count its increases.
    if (lastPresented !== null) tap.presentedFrames += meta.presentedFrames >= lastPresented ? meta.presentedFrames - lastPresented : meta.presentedFrames;
    lastPresented = meta.presentedFrames;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaElementSource(video).connect(analyser);
  analyser.connect(context.destination);
  const samples = new Float32Array(analyser.fftSize);
  setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let peak = 0;
    for (const sample of samples) peak = Math.max(peak, Math.abs(sample));
    tap.audioPeak = Math.max(tap.audioPeak, peak);
    tap.audioReads++;
    if (peak > ${AUDIBLE_LEVEL}) tap.audibleReads++;
    tap.audioContext = context.state;
  }, ${AUDIO_READ_MS});
  window.__playbackTap = tap;
  return tap;
})()`;

/** Page-side expression: the tap's counts, or null before it is installed. */
export const READ_PLAYBACK_TAP = `(window.__playbackTap ? { ...window.__playbackTap } : null)`;
