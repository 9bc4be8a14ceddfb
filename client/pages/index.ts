// Landing page: validates a stream name (suggesting a random one), sends the visitor to broadcast or watch it, and shows its playback address and embed code.
import { embedIframeCode, embedScriptCode } from '../../shared/embed-code.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html is missing #${id}`);
  return found as T;
}

const form = element<HTMLFormElement>('stream-form');
const input = element<HTMLInputElement>('stream');
const error = element('stream-error');
const playbackUrl = element('playback-url');
const embedSnippet = element('embed-snippet');
const embedIframe = element('embed-iframe');

const ADJECTIVES = ['amber', 'brisk', 'calm', 'dusty', 'eager', 'fuzzy', 'golden', 'hidden', 'lucky', 'misty', 'quiet', 'rapid'];
const NOUNS = ['otter', 'harbor', 'comet', 'falcon', 'meadow', 'lantern', 'canyon', 'pebble', 'tiger', 'willow', 'river', 'ember'];

function pick(words: readonly string[]): string {
  return words[Math.floor(Math.random() * words.length)] ?? 'stream';
}

function suggestName(): string {
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 100)}`;
}

/** The playback address and the embed code for the name in the field (NAME while it is not a valid one). */
function showPlaybackUrl(): void {
  const name = isValidStreamName(input.value) ? input.value : 'NAME';
  playbackUrl.textContent = `${location.origin}/live/${name}/index.m3u8`;
  embedSnippet.textContent = embedScriptCode(location.origin, name);
  embedIframe.textContent = embedIframeCode(location.origin, name);
}

function validate(): boolean {
  const valid = isValidStreamName(input.value);
  error.hidden = valid;
  error.textContent = valid ? '' : `"${input.value}" can't be a stream name: use 1 to 64 lowercase letters, digits, "_" or "-".`;
  input.setAttribute('aria-invalid', String(!valid));
  return valid;
}

input.value = suggestName();
showPlaybackUrl();
input.addEventListener('input', () => {
  // Names are lowercase; fold what people type rather than reject it.
  input.value = input.value.toLowerCase().replace(/\s+/g, '-');
  if (!error.hidden) validate();
  showPlaybackUrl();
});
element('suggest').addEventListener('click', () => {
  input.value = suggestName();
  validate();
  showPlaybackUrl();
});
form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!validate()) return;
  const submitter = event.submitter instanceof HTMLButtonElement ? event.submitter.value : 'watch';
  const page = submitter === 'broadcast' ? '/broadcast' : '/watch';
  location.assign(`${page}?stream=${encodeURIComponent(input.value)}`);
});
