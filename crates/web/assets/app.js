// Tỉnh số — progressive enhancement only. Every page works without this file; each part
// below looks for its own markup (data-* attributes) and does nothing when it is absent.
// No framework, no downloads: served from /static/app.js under script-src 'self'.
'use strict';

// == portal ==

// == citizen ==

// == officer ==

// == admin ==
// An error summary shown again after a submit takes the focus, so keyboard and screen-reader
// users land on the list of problems (each links to its input).
(function focusErrorSummary() {
  const summary = document.querySelector('.error-summary[tabindex="-1"]');
  if (summary) summary.focus();
})();
