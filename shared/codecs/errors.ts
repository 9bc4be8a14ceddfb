// The one error of the codec parsers: a decoder configuration or parameter set that cannot be used, and why.
export class CodecConfigError extends Error {
  override name = 'CodecConfigError';
}
