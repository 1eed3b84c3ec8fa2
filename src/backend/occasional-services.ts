// The service modules that only some operations need, in one chunk that local.ts loads on first use
// (issue #18). One chunk, not one per module: each file the ESM loader reads costs a command about as
// much start-up as parsing 10 KB of code, and esbuild splits every set of shared modules into a chunk
// of its own (measured: 27 files instead of 15 made `status` slower, not faster).
export * as signIn from '../service/sign-in.js';
export * as sessionControl from '../service/session-control.js';
export * as recoveryEmails from '../service/recovery-emails.js';
export * as recoveryQr from '../service/recovery-qr.js';
export * as ipAllowList from '../service/ip-allow-list.js';
export * as admin from '../service/admin.js';
export * as bulk from '../service/bulk-import.js';
export * as adminEmail from '../service/admin-email.js';
export * as orgs from '../service/orgs.js';
export * as oauthApps from '../service/oauth-apps.js';
export * as oauthGrants from '../service/oauth-grants.js';
