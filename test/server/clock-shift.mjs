// Test only, preloaded into a spawned `acctsec serve` with `node --import`: each SIGUSR2 moves the
// process's clock (Date.now, which oidc-provider and the service layer both read) forward by
// ACCTSEC_TEST_CLOCK_STEP_MS (default 11 minutes), so a test can let a 10-minute code expire
// without waiting. Nothing in acctsec itself knows about it.
const realNow = Date.now.bind(Date);
const step = Number(process.env.ACCTSEC_TEST_CLOCK_STEP_MS ?? 11 * 60_000);
let offset = 0;
process.on('SIGUSR2', () => {
  offset += step;
});
Date.now = () => realNow() + offset;
