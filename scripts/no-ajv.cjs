// What conf's `import { Ajv2020 } from 'ajv/dist/2020.js'` and `import ajvFormats from 'ajv-formats'` get in
// the bundle (scripts/build.js, noAjvForConf): conf calls them only for a schema, which acctsec never
// gives it (the config file is checked with valibot, src/config/profiles.ts). Called anyway, they fail.
'use strict';
function unavailable() {
  throw new Error('acctsec bundles conf without ajv: conf was given a schema (src/config/profiles.ts must not)');
}
class Ajv2020 {
  constructor() {
    unavailable();
  }
}
module.exports = { Ajv2020, default: unavailable };
