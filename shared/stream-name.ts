// Stream and rendition names: the one rule both the pages and the server apply.
export const STREAM_NAME_PATTERN = /^[a-z0-9_-]{1,64}$/;
export const RENDITION_NAME_PATTERN = /^[a-z0-9]{1,16}$/;

export function isValidStreamName(name: string): boolean {
  return STREAM_NAME_PATTERN.test(name);
}

export function isValidRenditionName(name: string): boolean {
  return RENDITION_NAME_PATTERN.test(name);
}
