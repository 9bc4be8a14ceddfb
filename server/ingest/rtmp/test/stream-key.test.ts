// Where the stream name and key are in what encoders send: the publish name (URL tail, OBS stream key) or the connect app's query.
import { describe, expect, it } from 'vitest';
import { parseApp, parsePublishName } from '../stream-key.ts';

describe('stream name and key', () => {
  it.each([
    ['cam', { name: 'cam', key: undefined }],
    ['cam?key=s3cret', { name: 'cam', key: 's3cret' }],
    ['cam?other=1&key=a%2Bb', { name: 'cam', key: 'a+b' }],
    ['cam?', { name: 'cam', key: undefined }],
  ])('publish name %j', (publishName, expected) => {
    expect(parsePublishName(publishName)).toEqual(expected);
  });

  it.each([
    ['live', { app: 'live', key: undefined }],
    ['live/', { app: 'live', key: undefined }],
    ['live?key=s3cret', { app: 'live', key: 's3cret' }],
    ['other', { app: 'other', key: undefined }],
  ])('connect app %j', (app, expected) => {
    expect(parseApp(app)).toEqual(expected);
  });
});
