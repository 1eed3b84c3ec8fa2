// commander requires node:child_process at load time, for executable subcommands acctsec does not use.
// Loading it (with net, dgram and the stream modules it pulls in) cost every run about 4 ms of CPU
// (issue #18); the build points commander at this stand-in, which loads the real module on first use.
'use strict';
let real;
module.exports = new Proxy(
  {},
  {
    get(_target, key) {
      real ??= require('node:child_process');
      return real[key];
    },
  },
);
