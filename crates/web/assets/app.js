// Tỉnh số — progressive enhancement only. Every page works without this file; each part
// below looks for its own markup (data-* attributes) and does nothing when it is absent.
// No framework, no downloads: served from /static/app.js under script-src 'self'.
'use strict';

// == portal ==

// == citizen ==

// == officer ==

// == admin ==
