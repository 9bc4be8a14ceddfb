// hls.js ships no typings for its light build (the same API without subtitles, alternate audio, EME, CMCD, content
// steering and interstitials, none of which the player uses); it is typed as the full build.
declare module 'hls.js/light' {
  import Hls from 'hls.js';
  export default Hls;
  export { FetchLoader } from 'hls.js';
}
