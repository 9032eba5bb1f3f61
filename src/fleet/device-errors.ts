import { PeerError } from '../errors.js';
import type { ReplyStatus } from './cgminer-reply.js';

/** The device answered STATUS E/F (or W): it understood and refused. Code SURPLUS_ERR_PEER. */
export class DeviceRefusedError extends PeerError {
  constructor(
    message: string,
    readonly status: ReplyStatus,
  ) {
    super(message);
  }
}

/**
 * The device's API refused this host the command (cgminer MSG_ACCDENY, Code 45,
 * "Access denied to '<cmd>' command"): a configuration problem on the miner,
 * not a fault to retry. Writes (`ascset`) need the W: prefix in api-allow.
 */
export class DeviceAccessDeniedError extends DeviceRefusedError {}

/** cgminer api.c MSG_ACCDENY. */
const ACCESS_DENIED_CODE = 45;

/** True for a STATUS that is cgminer's access-denied answer. */
export function isAccessDenied(s: ReplyStatus): boolean {
  return s.code === ACCESS_DENIED_CODE || /access denied|not privileged|permission denied/i.test(s.msg ?? '');
}
