// TURN (RFC 8656): the client engine, the relayed address as a DatagramSocket, and ChannelData framing.
export { TurnClient } from './client.js';
export {
  type TurnClientOptions,
  type TurnClientEvent,
  type TurnClientState,
  type TurnClientCounters,
  type TurnCloseReason,
  type TurnSendResult,
} from './client-options.js';
export { TurnError, TurnErrorCode, type TurnErrorKind, type TurnOperation } from './errors.js';
export { TurnRelaySocket, type TurnRelaySocketOptions } from './relay-socket.js';
export { TurnRelayFamilySocket } from './relay-family-socket.js';
export { LongTermCredentials, nonceFeatures, type PasswordAlgorithmChoice } from './credentials.js';
export { type ChannelBinding } from './channels.js';
export { type Permission } from './permissions.js';
export {
  CHANNEL_MIN,
  CHANNEL_MAX,
  CHANNEL_DATA_HEADER,
  ChannelDataError,
  decodeChannelData,
  encodeChannelData,
  isValidChannelNumber,
  type ChannelData,
} from './channel-data.js';
