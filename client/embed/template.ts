// The element's shadow DOM: markup and CSS in one template string, so nothing leaks into or out of the host page.

const icon = (path: string): string => `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="${path}"/></svg>`;

/** Icon paths (24×24), drawn in currentColor. */
export const ICONS = {
  play: icon('M8 5v14l11-7z'),
  pause: icon('M6 5h4v14H6zm8 0h4v14h-4z'),
  volume: icon('M3 9v6h4l5 5V4L7 9zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4z'),
  muted: icon('M3 9v6h4l5 5V4L7 9zm13.6 3 2.9-2.9-1.4-1.4-2.9 2.9-2.9-2.9-1.4 1.4 2.9 2.9-2.9 2.9 1.4 1.4 2.9-2.9 2.9 2.9 1.4-1.4z'),
  fullscreen: icon('M5 5h5v2H7v3H5zm9 0h5v5h-2V7h-3zM5 14h2v3h3v2H5zm12 0h2v5h-5v-2h3z'),
  exitFullscreen: icon('M8 5h2v5H5V8h3zm6 0h2v3h3v2h-5zM5 14h5v5H8v-3H5zm9 0h5v2h-3v3h-2z'),
  pip: icon('M3 5h18v14H3zm2 2v10h14V7zm6 5h7v4h-7z'),
} as const;

const CSS = `
:host{all:initial;display:block;position:relative;container-type:inline-size;width:100%;aspect-ratio:16/9;background:#000;color:#fff;
 font:14px/1.3 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow:hidden;contain:content}
:host([hidden]){display:none}
:host(:focus-visible){outline:3px solid #7cb7ff;outline-offset:-3px}
:host(:fullscreen){width:100%;height:100%;aspect-ratio:auto}
.root{position:absolute;inset:0}
.root.idle{cursor:none}
video{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;background:#000}
button{font:inherit;color:inherit;background:none;border:0;margin:0;padding:6px;border-radius:6px;cursor:pointer;
 display:inline-flex;align-items:center;gap:4px;min-width:32px;min-height:32px;justify-content:center}
button:hover{background:rgba(255,255,255,.18)}
button:focus-visible,input:focus-visible{outline:3px solid #7cb7ff;outline-offset:1px}
svg{width:22px;height:22px;fill:currentColor}
[hidden]{display:none!important}
.bar{position:absolute;left:0;right:0;bottom:0;display:flex;align-items:center;gap:2px;padding:6px 8px;
 background:rgba(0,0,0,.78);transition:opacity .25s}
.root.idle .bar{opacity:0;pointer-events:none}
.root.bare .bar{display:none}
.root.idle .bar:focus-within{opacity:1;pointer-events:auto}
.spacer{flex:1}
input[type=range]{width:80px;accent-color:#fff;margin:0 6px}
.live{font-weight:700;font-size:12px;letter-spacing:.03em;padding:4px 8px;white-space:nowrap}
.live::before{content:"";width:8px;height:8px;border-radius:50%;background:#ff4e45;margin-right:4px}
.live.behind::before{background:#aaa}
.menu{position:relative}
[role=menu]{position:absolute;right:0;bottom:calc(100% + 8px);min-width:150px;background:#1c1c1c;border-radius:8px;
 padding:4px;box-shadow:0 4px 18px rgba(0,0,0,.5);display:flex;flex-direction:column}
[role^=menuitem]{justify-content:flex-start;width:100%;padding:6px 10px}
[role^=menuitem][aria-checked=true]::after{content:"✓";margin-left:auto}
.screen{position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;
 text-align:center;padding:16px;background:rgba(0,0,0,.6)}
.screen p{margin:4px 0;max-width:36em}
.title{font-size:1.25em;font-weight:600}
.detail{color:#ddd}
.screen button,.unmute{background:#fff;color:#000;font-weight:600;padding:8px 16px;margin-top:10px}
.screen button:hover,.unmute:hover{background:#ddd}
.spinner{width:36px;height:36px;border:4px solid rgba(255,255,255,.3);border-top-color:#fff;border-radius:50%;
 animation:spin 1s linear infinite;margin-bottom:8px}
@keyframes spin{to{transform:rotate(360deg)}}
.big-play{position:absolute;inset:0;margin:auto;width:72px;height:72px;border-radius:50%;background:rgba(0,0,0,.7)}
.big-play svg{width:44px;height:44px}
.unmute{position:absolute;top:12px;left:12px;margin:0}
/* Narrow players (phones, small embeds) drop the volume slider and the latency menu. */
@container (max-width:420px){input[type=range],.lm{display:none}}
`;

/** The shadow root's content; element.ts finds its parts by class. */
export const TEMPLATE = `<style>${CSS}</style>
<div class="root">
 <video playsinline></video>
 <div class="screen" role="status" aria-live="polite" hidden>
  <div class="spinner"></div><p class="title"></p><p class="detail"></p>
  <button class="retry" type="button" hidden>Retry</button>
 </div>
 <button class="big-play" type="button" aria-label="Play" hidden>${ICONS.play}</button>
 <button class="unmute" type="button" hidden>${ICONS.muted} Unmute</button>
 <div class="bar" role="group" aria-label="Player controls">
  <button class="play" type="button" aria-label="Play">${ICONS.play}</button>
  <button class="mute" type="button" aria-label="Mute">${ICONS.volume}</button>
  <input class="volume" type="range" min="0" max="1" step="0.05" value="1" aria-label="Volume">
  <button class="live" type="button" aria-label="Live">LIVE</button>
  <span class="spacer"></span>
  <div class="menu lm">
   <button class="latency-button" type="button" aria-haspopup="menu" aria-expanded="false" aria-controls="latency-menu"></button>
   <div id="latency-menu" role="menu" aria-label="Latency mode" hidden></div>
  </div>
  <div class="menu">
   <button class="quality-button" type="button" aria-haspopup="menu" aria-expanded="false" aria-controls="quality-menu" hidden></button>
   <div id="quality-menu" role="menu" aria-label="Quality" hidden></div>
  </div>
  <button class="pip" type="button" aria-label="Picture in picture" hidden>${ICONS.pip}</button>
  <button class="fullscreen" type="button" aria-label="Full screen">${ICONS.fullscreen}</button>
 </div>
</div>`;
