// Puppeteer drives the system Firefox ESR in the browser tests (web-test-runner.config.mjs);
// it must not try to download its own browsers at install time (no outside network here).
module.exports = { skipDownload: true };
