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
(function officer() {
  // Forms marked data-once are sent once: a double click does not post twice.
  document.querySelectorAll('form[data-once]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = '1';
    });
  });
  // Focus the error summary so screen readers announce it.
  var summary = document.querySelector('[data-focus]');
  if (summary) summary.focus();
  // Type-to-filter the procedure list of the counter.
  document.querySelectorAll('[data-filter-for]').forEach(function (input) {
    var select = document.getElementById(input.dataset.filterFor);
    if (!select) return;
    input.hidden = false;
    var fold = function (s) { return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase(); };
    input.addEventListener('input', function () {
      var q = fold(input.value.trim());
      var first = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var show = !o.value || fold(o.text).indexOf(q) >= 0;
        o.hidden = !show;
        if (show && o.value && !first) first = o;
      });
      if (first && q) select.value = first.value;
    });
  });
  // Scans at the counter: upload through the API, keep the upload id in the form.
  var csrf = document.querySelector('input[name="csrf_token"]');
  document.querySelectorAll('[data-scan]').forEach(function (box) {
    box.hidden = false;
    var i = box.dataset.scan;
    var file = box.querySelector('[data-scan-input]');
    var status = box.querySelector('[data-scan-status]');
    var target = document.querySelector('[data-upload-target="' + i + '"]');
    file.addEventListener('change', function () {
      if (!file.files.length) return;
      var f = file.files[0];
      status.textContent = '…';
      fetch('/api/v1/uploads?filename=' + encodeURIComponent(f.name), {
        method: 'POST', body: f, credentials: 'same-origin',
        headers: { 'x-csrf-token': csrf ? csrf.value : '' },
      }).then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
        .then(function (res) {
          if (res[0] && res[1].id) { target.value = res[1].id; status.textContent = '✓ ' + f.name; }
          else { target.value = ''; status.textContent = (res[1].error && res[1].error.message) || '✗'; }
        }).catch(function () { target.value = ''; status.textContent = '✗'; });
    });
  });
  // The printed ticket.
  document.querySelectorAll('[data-print]').forEach(function (b) {
    b.hidden = false;
    b.addEventListener('click', function () { window.print(); });
  });
  // The waiting-room display polls its small JSON state.
  var display = document.querySelector('[data-queue-display]');
  if (display) {
    var code = display.dataset.queueDisplay;
    var tick = function () {
      fetch('/api/v1/queue/' + encodeURIComponent(code), { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          var now = s.calls[0];
          display.querySelector('[data-now-number]').textContent = now ? now.label : '—';
          display.querySelector('[data-now-desk]').textContent = now ? now.desk : '';
          display.querySelector('[data-waiting]').textContent = s.waiting;
          var list = display.querySelector('[data-calls]');
          list.textContent = '';
          s.calls.forEach(function (c) {
            var li = document.createElement('li');
            var b = document.createElement('strong');
            b.textContent = c.label;
            li.appendChild(b);
            li.appendChild(document.createTextNode(' → ' + c.desk));
            list.appendChild(li);
          });
        }).catch(function () {});
    };
    setInterval(tick, 3000);
  }
})();

// == admin ==
// An error summary shown again after a submit takes the focus, so keyboard and screen-reader
// users land on the list of problems (each links to its input).
(function focusErrorSummary() {
  const summary = document.querySelector('.error-summary[tabindex="-1"]');
  if (summary) summary.focus();
})();
