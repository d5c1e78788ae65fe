// Ward's web UI: its one script, served from /ui/live.js (no inline script; every page works
// without it). Written for this project, no dependencies, no build step.
//
// 1. Times: each <time datetime="…Z" title="… UTC"> the server renders in UTC is shown in the
//    viewer's time zone; the UTC time stays in its title (on hover).
// 2. Live rollout: the element with data-live="/ui/rollouts/ID/events" is replaced by each
//    server-sent `rollout` event's HTML (rendered and escaped by the server, from the log);
//    an `end` event closes the stream and hides the operator's actions (outside the region, so
//    a reason being typed survives its updates); an `again` event (the server ends each stream
//    after a minute) reconnects only if the person used the page since, so an unattended page
//    does not keep its session from idling out; a `signed-out` event (the session was signed
//    out, revoked, expired or idled out while the stream was open) closes it for good.
(function () {
  'use strict';

  var format = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' };

  function localize(root) {
    var nodes = root.querySelectorAll('time[datetime][title]');
    for (var i = 0; i < nodes.length; i++) {
      var t = nodes[i];
      var d = new Date(t.getAttribute('datetime'));
      if (isNaN(d.getTime())) { continue; }
      try {
        t.textContent = d.toLocaleString(undefined, format);
      } catch (e) {
        return;
      }
    }
  }

  // When the person last used the page (a key, the pointer, scrolling).
  var used = Date.now();
  ['keydown', 'pointerdown', 'pointermove', 'wheel', 'scroll', 'touchstart'].forEach(function (name) {
    window.addEventListener(name, function () { used = Date.now(); }, { passive: true, capture: true });
  });

  function live() {
    var region = document.querySelector('[data-live]');
    if (!region || !window.EventSource) { return; }
    var state = document.getElementById('live-state');
    var say = function (text) { if (state) { state.textContent = text; } };
    var waiting = false;
    var connected = 0;
    function connect() {
      waiting = false;
      connected = Date.now();
      var source = new window.EventSource(region.getAttribute('data-live'));
      source.addEventListener('open', function () { say('Live: this page follows the rollout as it is recorded.'); });
      source.addEventListener('rollout', function (ev) {
        region.innerHTML = ev.data;
        localize(region);
      });
      source.addEventListener('end', function (ev) {
        source.close();
        var operator = document.getElementById('operator');
        if (operator) { operator.hidden = true; }
        say('Finished (' + ev.data + '): this is its final state.');
      });
      // The server ends each stream after a while: reconnect if the person used the page since
      // the last connection; otherwise wait for them (an unattended page lets the session idle out).
      source.addEventListener('again', function () {
        source.close();
        if (used > connected) {
          connect();
        } else {
          waiting = true;
          say('Paused while you are away: use the page (or reload it) to follow the rollout again.');
        }
      });
      source.addEventListener('signed-out', function () {
        source.close();
        var operator = document.getElementById('operator');
        if (operator) { operator.hidden = true; }
        say('Signed out: sign in again to follow the rollout.');
      });
      // A dropped connection is not retried by the browser on its own (each retry would renew
      // the session's idle clock with nobody at the page): the same rule as `again`.
      source.addEventListener('error', function () {
        source.close();
        if (used > connected) {
          connect();
        } else {
          waiting = true;
          say('Not live: use the page (or reload it) to follow the rollout again.');
        }
      });
    }
    ['keydown', 'pointerdown', 'pointermove', 'wheel', 'scroll', 'touchstart'].forEach(function (name) {
      window.addEventListener(name, function () { if (waiting) { connect(); } }, { passive: true });
    });
    connect();
  }

  function start() {
    localize(document);
    live();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
