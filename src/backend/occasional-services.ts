// The service modules that only some operations need, which local.ts imports on first use (issue #18):
// inside the one CommonJS bundle (scripts/build.js) they are a lazy initializer that runs none of their
// code until then. One module, not one import per service, so that local.ts has one place to load them.
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
