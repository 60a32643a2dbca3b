// Tỉnh số — progressive enhancement only. Every page works without this file; each part
// below looks for its own markup (data-* attributes) and does nothing when it is absent.
// No framework, no downloads: served from /static/app.js under script-src 'self'.
'use strict';

// == portal ==

// == citizen ==
// Application forms (data-cz-autosave): each change is saved to the server draft (debounced
// PUT /api/v1/drafts/{id}) and copied to localStorage, so a dropped connection loses nothing;
// a copy the server never confirmed is put back into the form on the next visit.
(function () {
  var form = document.querySelector('form[data-cz-autosave]');
  var focus = document.querySelector('[data-cz-focus]');
  if (focus) focus.focus();
  if (!form || !window.fetch || !window.JSON) return;
  var url = form.getAttribute('data-cz-autosave');
  var key = 'tinhso-draft:' + url + ':' + form.getAttribute('data-cz-step');
  var status = form.querySelector('[data-cz-status]');
  var timer = null;
  function collect() {
    var answers = {};
    var agency = null;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) return;
      if (el.name.indexOf('form.') === 0) answers[el.name.slice(5)] = el.value;
      if (el.name === 'agency') agency = el.value;
    });
    var body = { answers: answers, step: form.getAttribute('data-cz-step') };
    if (agency !== null) body.agency_code = agency;
    return body;
  }
  function store(body, saved) {
    try { localStorage.setItem(key, JSON.stringify({ body: body, saved: saved })); } catch (e) { /* full or disabled */ }
  }
  function say(text) { if (status) status.textContent = text; }
  function save() {
    var body = collect();
    store(body, false);
    fetch(url, {
      method: 'PUT', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': form.getAttribute('data-cz-csrf') },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) { store(body, true); say(document.documentElement.lang === 'en' ? 'Saved automatically' : 'Đã tự động lưu'); }
      else say(document.documentElement.lang === 'en' ? 'Not saved to the server yet; kept on this device' : 'Chưa lưu được lên máy chủ; nội dung được giữ trên máy này');
    }).catch(function () {
      say(document.documentElement.lang === 'en' ? 'Not saved to the server yet; kept on this device' : 'Chưa lưu được lên máy chủ; nội dung được giữ trên máy này');
    });
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(save, 800); }
  form.addEventListener('input', schedule);
  form.addEventListener('change', schedule);
  form.addEventListener('submit', function () { clearTimeout(timer); store(collect(), true); });
  // Put back what the server never confirmed (typed while offline), then save it.
  try {
    var kept = JSON.parse(localStorage.getItem(key) || 'null');
    if (kept && !kept.saved && kept.body) {
      var restored = false;
      Object.keys(kept.body.answers || {}).forEach(function (k) {
        var el = form.elements['form.' + k];
        if (el && !el.value && kept.body.answers[k]) { el.value = kept.body.answers[k]; restored = true; }
      });
      if (restored) save();
    }
  } catch (e) { /* unreadable copy: ignore */ }
})();

// == officer ==

// == admin ==
