import { chmodSync, closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Saves recovery codes as a text file, mode 0600 from its first byte, with the account and the date
 * (SPEC §5). Written beside the target and renamed over it, so a reader never sees half a file.
 */
export function writeRecoveryCodesFile(path: string, username: string, codes: string[], now = new Date()): string {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  const text = [
    `acctsec recovery codes for ${username}`,
    `Generated ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC. Each code works once; a new set voids this one.`,
    'Keep this file somewhere safe, away from the device with your authenticator app.',
    '',
    ...codes,
    '',
  ].join('\n');
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(temp, 0o600);
  renameSync(temp, target);
  return target;
}
