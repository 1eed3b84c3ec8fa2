/**
 * The layer rules of docs/architecture.md, checked on every `npm run lint`:
 *
 *   cli -> backend (interface) -> service -> store ; server over the backend interface ; no cycles.
 *
 * The composition roots (the only files that wire concrete layers together) are named here, one by one:
 * adding one is a reviewed change to this file, not an import that slips in.
 */
const COMPOSITION_ROOTS = [
  '^src/cli/factory\\.ts$', // picks the local or remote Backend for a command
  '^src/cli/key-page-host\\.ts$', // serves the security-key page from the CLI in local mode
  '^src/cli/commands/serve\\.ts$', // `acctsec serve` starts the server
  '^src/cli/commands/admin-migrate\\.ts$', // `admin migrate-store` copies a SQLite file into PostgreSQL on this host
  '^src/server/serve\\.ts$', // the server over a local Backend and its store
];
const root = COMPOSITION_ROOTS.join('|');
// Modules at the top of src/ are shared vocabulary (errors, views, schemas, formats): they import no layer.
const SHARED = '^src/[^/]+\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'heavy-libraries-load-lazily',
      severity: 'error',
      comment:
        'Issue #18: every command starts fast. These libraries are imported with import() on the path that needs them (a key ceremony, a password hash, a mail, a strength check, a config write, a QR code, a prompt), never statically; undici only by the remote back end, itself loaded lazily.',
      from: { pathNot: '^src/backend/remote\\.ts$' },
      to: {
        path: '^node_modules/(@simplewebauthn|argon2|nodemailer|@zxcvbn-ts|conf|qrcode|jimp|@jimp|@inquirer|undici|oidc-provider)/',
        dynamic: false,
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle makes module order matter; break it with a shared module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'factors-only-through-the-registry',
      severity: 'error',
      comment:
        'Issue #16: services reach a second factor through ctx.factors (service/factors.ts builds the list), never by importing it; what factors share lives in helper modules (docs/architecture.md, "Second factors"). The local back end calls their enrolment operations; the composition roots name their types.',
      from: { path: '^src/', pathNot: ['^src/service/factors\\.ts$', '^src/backend/local\\.ts$', root] },
      to: { path: '^src/service/(totp|email-mfa|security-keys|recovery-codes)\\.ts$' },
    },
    {
      name: 'cli-uses-the-backend-interface',
      severity: 'error',
      comment: 'The CLI is a client of the Backend: no rules, no SQL, no server internals.',
      from: { path: '^src/cli/', pathNot: root },
      to: {
        path: [
          '^src/(service|store|server|mail)/',
          '^src/backend/(local|remote)\\.ts$',
          '^node_modules/(better-sqlite3|undici|argon2|nodemailer|otpauth|@simplewebauthn)/',
        ],
      },
    },
    {
      name: 'backend-interface-is-plain',
      severity: 'error',
      comment: 'backend.ts and routes.ts describe operations; only local.ts and remote.ts implement them.',
      from: { path: '^src/backend/(backend|routes)\\.ts$' },
      to: { path: ['^src/(service|store|server|mail|cli|config)/', '^src/backend/(local|remote)\\.ts$'] },
    },
    {
      name: 'remote-backend-speaks-http-only',
      severity: 'error',
      from: { path: '^src/backend/remote\\.ts$' },
      to: { path: '^src/(service|store|server|mail|cli)/' },
    },
    {
      name: 'local-backend-over-service',
      severity: 'error',
      from: { path: '^src/backend/local\\.ts$' },
      to: { path: '^src/(cli|server)/' },
    },
    {
      name: 'server-over-the-backend-interface',
      severity: 'error',
      comment: 'The server maps HTTP to Backend operations; it holds no rules and no SQL.',
      from: { path: '^src/server/', pathNot: root },
      to: { path: ['^src/(cli|service|store|mail|config)/', '^src/backend/local\\.ts$'] },
    },
    {
      name: 'service-below-the-backend',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: '^src/(cli|server|backend|config)/' },
    },
    {
      name: 'store-is-sql-only',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(cli|server|backend|service|mail|config)/' },
    },
    {
      name: 'mail-is-delivery-only',
      severity: 'error',
      from: { path: '^src/mail/' },
      to: { path: '^src/(cli|server|backend|service|store|config)/' },
    },
    {
      name: 'shared-modules-import-no-layer',
      severity: 'error',
      from: { path: SHARED },
      to: { path: '^src/(cli|server|backend|service|store|mail|config)/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
