// Limits of the publish wire protocol; the origin drops a publisher that exceeds any of them.

/** Largest reassembled message (an encoded keyframe of a high rung with headroom). */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Largest single data-channel frame accepted (a fragment or an unfragmented message). */
export const MAX_FRAME_BYTES = 128 * 1024;
/** Fragment size the publisher uses; below every browser's SCTP max-message-size. */
export const FRAGMENT_PAYLOAD_BYTES = 64 * 1024;
/** Tracks per publish session (e.g. up to 15 video rungs + audio). */
export const MAX_TRACKS = 16;
/** Largest JSON body of a track configuration message. */
export const MAX_TRACK_CONFIG_JSON_BYTES = 4 * 1024;
/** Largest decoder description (avcC, Opus header, AudioSpecificConfig). */
export const MAX_DESCRIPTION_BYTES = 16 * 1024;
/** Longest codec string. */
export const MAX_CODEC_STRING_LENGTH = 64;
