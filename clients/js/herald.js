/*
 * herald.js: the browser client for Herald (docs/CLIENT.md). One file, no dependencies, no build
 * step; every node serves it at /herald.js.
 *
 *   var herald = new Herald({
 *     url: 'https://push.example.com',          // default: the page's own origin
 *     channels: ['news', 'user:42'],
 *     onMessage: function (text, meta) { ... }, // meta: channel, id, time, tag, eventId, transport
 *   });
 *   herald.connect();
 *
 * It picks the first transport that works (WebSocket, then EventSource, then long-polling, JSONP
 * when cross-origin without CORS), falls back when one fails, reconnects with exponential backoff
 * and jitter, and resumes exactly where it stopped on every transport with Herald's cursor.
 */
(function (root) {
  'use strict';

  var TRANSPORTS = ['websocket', 'eventsource', 'longpolling'];
  var PATHS = { websocket: '/ws/', eventsource: '/ev/', longpolling: '/lp/', jsonp: '/lp/' };
  var MISSED = -4, GRANT_EXPIRED = -5, CHANNEL_DELETED = -2, PING = -1, TIMED_OUT = -3;

  function Herald(options) {
    options = options || {};
    this.url = (options.url || (root.location ? root.location.origin : '')).replace(/\/+$/, '');
    this.channels = (options.channels || []).slice();
    if (this.channels.length === 0) throw new Error('herald: give at least one channel');
    this.transports = (options.transports || TRANSPORTS).slice();
    this.token = options.token || null;
    this.getToken = options.getToken || null;
    this.withCredentials = options.withCredentials === true;
    this.jsonp = options.jsonp || 'auto';
    this.openTimeout = options.openTimeout || 8000;
    this.longPollTimeout = options.longPollTimeout || 45000;
    this.backoff = { initial: 500, max: 30000, factor: 2 };
    if (options.backoff) for (var k in options.backoff) this.backoff[k] = options.backoff[k];
    this.onMessage = options.onMessage || function () {};
    this.onStatus = options.onStatus || function () {};
    this.onGap = options.onGap || function () {};
    this.onError = options.onError || function () {};
    /** Where the client stands on each channel: { id, generation }. */
    this.positions = {};
    for (var i = 0; i < this.channels.length; i++) this.positions[this.channels[i]] = null;
    if (options.cursor) this._readCursor(options.cursor);
    this.status = 'idle';
    this.transport = null;
    this._transportIndex = 0;
    this._failures = 0;
    this._connection = null;
    this._timer = null;
    this._closed = true;
    this._generation = 0; // of connections: callbacks of an older one are ignored
    var self = this;
    this._onVisible = function () {
      // Back from the background: a connection the browser froze is replaced at once.
      if (root.document && root.document.visibilityState === 'visible' && !self._closed && self.status !== 'open') {
        self._reconnect(0);
      }
    };
  }

  /** Connects (or reconnects now). */
  Herald.prototype.connect = function () {
    this._closed = false;
    if (root.document && root.document.addEventListener) {
      root.document.addEventListener('visibilitychange', this._onVisible);
    }
    this._open();
    return this;
  };

  /** Closes the connection; no more callbacks. `connect()` resumes from the same position. */
  Herald.prototype.close = function () {
    this._closed = true;
    this._generation++;
    clearTimeout(this._timer);
    if (this._connection) this._connection.close();
    this._connection = null;
    if (root.document && root.document.removeEventListener) {
      root.document.removeEventListener('visibilitychange', this._onVisible);
    }
    this._setStatus('closed');
  };

  /** The resume cursor of every channel: `hc:<channel>:<id>[:<generation>],…`. */
  Herald.prototype.cursor = function () {
    var entries = [];
    for (var i = 0; i < this.channels.length; i++) {
      var channel = this.channels[i], at = this.positions[channel];
      if (!at) continue;
      entries.push(encodeURIComponent(channel) + ':' + at.id + (at.generation ? ':' + at.generation : ''));
    }
    return entries.length ? 'hc:' + entries.join(',') : null;
  };

  // MARK: Connecting

  Herald.prototype._open = function () {
    clearTimeout(this._timer);
    if (this._connection) this._connection.close();
    var name = this.transports[this._transportIndex % this.transports.length];
    if (name === 'longpolling' && this._useJSONP()) name = 'jsonp';
    this.transport = name;
    this._setStatus('connecting', { transport: name });
    var generation = ++this._generation, self = this;
    var events = {
      open: function () {
        if (generation !== self._generation) return;
        self._failures = 0;
        self._opened = true;
        self._setStatus('open', { transport: name });
      },
      message: function (text, meta) {
        if (generation === self._generation) self._receive(text, meta);
      },
      cursor: function (cursor) {
        if (generation === self._generation) self._readCursor(cursor);
      },
      close: function (why) {
        if (generation === self._generation) self._lost(name, why || {});
      }
    };
    this._opened = false;
    var url = this._url(name);
    this._connection = Transports[name](this, url, events);
    // A transport that does not open in time (a proxy holding an upgrade, an EventSource that
    // never gets its headers) counts as failed.
    this._timer = setTimeout(function () {
      if (generation === self._generation && !self._opened) self._lost(name, { reason: 'timeout', beforeOpen: true });
    }, this.openTimeout);
  };

  Herald.prototype._url = function (name) {
    var path = this.channels.map(function (c) { return encodeURIComponent(c); }).join('/');
    var base = this.url;
    if (name === 'websocket') base = base.replace(/^http/, 'ws');
    var query = [];
    var cursor = this.cursor();
    if (cursor) query.push('cursor=' + encodeURIComponent(cursor));
    if (this.token) query.push('token=' + encodeURIComponent(this.token));
    return base + PATHS[name] + path + (query.length ? '?' + query.join('&') : '');
  };

  Herald.prototype._useJSONP = function () {
    if (this.jsonp === true) return true;
    if (this.jsonp === false || !root.location) return false;
    return this._corsFailed === true && this.url.indexOf(root.location.origin) !== 0;
  };

  /** The connection ended: why decides what comes next. */
  Herald.prototype._lost = function (name, why) {
    if (this._closed) return;
    this._generation++;
    clearTimeout(this._timer);
    if (this._connection) this._connection.close();
    this._connection = null;
    var self = this;
    if (why.grantExpired || why.status === 401 || why.status === 403) {
      // The grant is over (or refused): a new one, then resume from the cursor.
      if (this.getToken) {
        this._setStatus('reconnecting', { transport: name, reason: 'grant' });
        Promise.resolve(this.getToken()).then(function (token) {
          if (self._closed) return;
          self.token = token;
          self._reconnect(0);
        }, function (error) {
          self.onError({ type: 'token', error: error });
          self._reconnect(self._delay());
        });
        return;
      }
      this.onError({ type: 'refused', status: why.status || 403, explain: why.explain, transport: name });
      if (!why.grantExpired) return this._setStatus('closed', { reason: 'refused' });
    }
    if (name === 'longpolling' && why.cors) this._corsFailed = true;
    if (why.beforeOpen && !why.status) {
      // This transport does not work here: the next one.
      this._transportIndex++;
      this._failures++;
      var all = this._failures >= this.transports.length;
      this._setStatus('reconnecting', { transport: name, reason: why.reason || 'failed', fallback: true });
      return this._reconnect(all ? this._delay() : 0);
    }
    this._failures++;
    this._setStatus('reconnecting', { transport: name, reason: why.reason || 'closed' });
    // A node that is stopping says when to come back (EventSource `retry:`, WebSocket 1012).
    this._reconnect(why.retry !== undefined ? why.retry : this._delay());
  };

  Herald.prototype._reconnect = function (delay) {
    var self = this;
    clearTimeout(this._timer);
    this._generation++;
    if (this._connection) this._connection.close();
    this._connection = null;
    this._timer = setTimeout(function () { if (!self._closed) self._open(); }, delay);
  };

  /** Exponential backoff with full jitter. */
  Herald.prototype._delay = function () {
    var b = this.backoff;
    var ceiling = Math.min(b.max, b.initial * Math.pow(b.factor, Math.max(0, this._failures - 1)));
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  };

  Herald.prototype._setStatus = function (status, info) {
    this.status = status;
    info = info || {};
    if (info.transport === undefined) info.transport = this.transport;
    this.onStatus(status, info);
  };

  // MARK: Messages

  Herald.prototype._receive = function (text, meta) {
    var at = this.positions[meta.channel];
    switch (meta.id) {
      case PING: case TIMED_OUT: return;
      case MISSED:
        this.onGap({ channel: meta.channel, time: meta.time, tag: meta.tag });
        return;
      case GRANT_EXPIRED:
        return; // the transport ends next; _lost asks for a new grant
      case CHANNEL_DELETED:
        this.onError({ type: 'deleted', channel: meta.channel });
        return;
    }
    if (meta.id === undefined || meta.id === null || isNaN(meta.id)) return this.onMessage(text, meta);
    if (at && meta.id <= at.id && (meta.generation === undefined || meta.generation === at.generation)) {
      // Seen already, unless ids started again (the channel was created anew while connected).
      if (!(meta.id === 1 && at.id > 1)) return;
    }
    this.positions[meta.channel] = {
      id: meta.id,
      generation: meta.generation !== undefined ? meta.generation : (at && meta.id > at.id ? at.generation : undefined)
    };
    this.onMessage(text, meta);
  };

  /** Takes every channel's position from a cursor the server sent (EventSource id, Etag). */
  Herald.prototype._readCursor = function (cursor) {
    cursor = String(cursor).replace(/^W\//, '').replace(/^"|"$/g, '');
    if (cursor.indexOf('hc:') !== 0) return;
    var entries = cursor.slice(3).split(',');
    for (var i = 0; i < entries.length; i++) {
      var parts = entries[i].split(':');
      if (parts.length < 2) continue;
      var channel = decodeURIComponent(parts[0]);
      if (!(channel in this.positions)) continue;
      this.positions[channel] = { id: parseInt(parts[1], 10), generation: parts[2] ? parts[2] : undefined };
    }
  };

  /** A message as the default templates render it (push-stream's JSON). */
  function parseMessage(json, transport) {
    var m;
    try { m = typeof json === 'string' ? JSON.parse(json) : json; } catch (e) { return null; }
    if (!m || typeof m !== 'object') return null;
    return {
      text: m.text,
      meta: {
        channel: m.channel, id: parseInt(m.id, 10), time: m.time, tag: parseInt(m.tag, 10),
        eventId: m.eventid || undefined, eventType: m.eventtype || m.event_type || undefined,
        generation: m.generation !== undefined ? String(m.generation) : undefined, transport: transport
      }
    };
  }

  /** Splits concatenated JSON objects (a long-poll body) without being fooled by braces in strings. */
  function splitObjects(body) {
    var out = [], depth = 0, start = -1, inString = false, escaped = false;
    for (var i = 0; i < body.length; i++) {
      var c = body.charAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{') { if (depth++ === 0) start = i; }
      else if (c === '}' && depth > 0 && --depth === 0) out.push(body.slice(start, i + 1));
    }
    return out;
  }

  // MARK: Transports: each calls events.open/message/cursor/close and returns { close }.

  var Transports = {
    websocket: function (client, url, events) {
      if (!root.WebSocket) { setTimeout(function () { events.close({ beforeOpen: true, reason: 'unsupported' }); }); return { close: function () {} }; }
      var socket = new root.WebSocket(url), opened = false;
      socket.onopen = function () { opened = true; events.open(); };
      socket.onmessage = function (event) {
        var parsed = parseMessage(event.data, 'websocket');
        if (parsed) events.message(parsed.text, parsed.meta);
      };
      socket.onclose = function (event) {
        var why = { beforeOpen: !opened, reason: 'closed ' + event.code };
        if (event.code === 1008) {
          // A refusal after the 101: {"http_status": 403, "explain":"…"}
          try {
            var refusal = JSON.parse(event.reason);
            why.status = refusal.http_status;
            why.explain = refusal.explain;
            why.grantExpired = /expired/i.test(refusal.explain || '');
            why.beforeOpen = false;
          } catch (e) {}
        }
        if (event.code === 1012) why.retry = 250 + Math.round(Math.random() * 1750);
        events.close(why);
      };
      return { close: function () { socket.onclose = socket.onmessage = socket.onopen = null; try { socket.close(); } catch (e) {} } };
    },

    eventsource: function (client, url, events) {
      if (!root.EventSource) { setTimeout(function () { events.close({ beforeOpen: true, reason: 'unsupported' }); }); return { close: function () {} }; }
      var source = new root.EventSource(url, { withCredentials: client.withCredentials }), opened = false;
      source.onopen = function () { opened = true; events.open(); };
      source.onmessage = function (event) {
        var parsed = parseMessage(event.data, 'eventsource');
        if (!parsed) return;
        if (parsed.meta.id === GRANT_EXPIRED) return events.close({ grantExpired: true, status: 403 });
        events.message(parsed.text, parsed.meta);
        // The event's id is the cursor of every channel, generations included: exact.
        if (event.lastEventId) events.cursor(event.lastEventId);
      };
      source.onerror = function () {
        // The browser would reconnect on its own, from the URL's old cursor and token: herald.js
        // reconnects itself instead. A stream that was open ended (a node stopping sends a
        // `retry:` of 0.25–2 s, which the browser alone can read): come back within that spread.
        source.close();
        events.close({ beforeOpen: !opened, reason: 'error', retry: opened ? 250 + Math.round(Math.random() * 1750) : undefined });
      };
      return { close: function () { source.onopen = source.onmessage = source.onerror = null; source.close(); } };
    },

    longpolling: function (client, url, events) {
      var stopped = false, request = null, first = true, cursor = null;
      function poll() {
        if (stopped) return;
        request = new XMLHttpRequest();
        var target = url;
        if (cursor) target = target.replace(/([?&])cursor=[^&]*/, '$1cursor=' + encodeURIComponent(cursor));
        if (cursor && target === url && url.indexOf('cursor=') < 0) target += (url.indexOf('?') < 0 ? '?' : '&') + 'cursor=' + encodeURIComponent(cursor);
        request.open('GET', target, true);
        request.withCredentials = client.withCredentials;
        request.timeout = client.longPollTimeout;
        request.onload = function () {
          if (stopped) return;
          first = false;
          var status = request.status;
          if (status === 200) {
            var objects = splitObjects(request.responseText || '');
            for (var i = 0; i < objects.length; i++) {
              var parsed = parseMessage(objects[i], 'longpolling');
              if (!parsed) continue;
              if (parsed.meta.id === GRANT_EXPIRED) return events.close({ grantExpired: true, status: 403 });
              events.message(parsed.text, parsed.meta);
            }
            var etag = request.getResponseHeader('Etag');
            if (etag && etag.indexOf('hc:') >= 0) events.cursor(etag);
          }
          if (status === 200 || status === 304) { cursor = client.cursor(); return poll(); }
          var explain = request.getResponseHeader('X-Nginx-PushStream-Explain');
          events.close({ status: status, explain: explain, reason: 'status ' + status });
        };
        request.onerror = function () {
          if (!stopped) events.close({ beforeOpen: first, cors: first, reason: 'network' });
        };
        request.ontimeout = function () { if (!stopped) poll(); };
        request.send();
        // A long-poll has no answer until a message comes: sent is as open as it gets.
        if (first) events.open();
      }
      setTimeout(poll);
      return { close: function () { stopped = true; if (request) request.abort(); } };
    },

    jsonp: function (client, url, events) {
      var stopped = false, script = null, first = true, serial = 0;
      function poll() {
        if (stopped) return;
        var name = '__herald' + Math.random().toString(36).slice(2) + (serial++);
        var cursor = client.cursor();
        var target = url.replace(/([?&])cursor=[^&]*&?/, '$1').replace(/[?&]$/, '');
        target += (target.indexOf('?') < 0 ? '?' : '&') + 'callback=' + name + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
        var timer = setTimeout(function () { cleanup(); if (!stopped) events.close({ beforeOpen: first, reason: 'timeout' }); }, client.longPollTimeout);
        function cleanup() { clearTimeout(timer); delete root[name]; if (script && script.parentNode) script.parentNode.removeChild(script); }
        root[name] = function (messages) {
          cleanup();
          if (stopped) return;
          first = false;
          for (var i = 0; i < messages.length; i++) {
            var parsed = parseMessage(messages[i], 'jsonp');
            if (!parsed) continue;
            if (parsed.meta.id === GRANT_EXPIRED) return events.close({ grantExpired: true, status: 403 });
            events.message(parsed.text, parsed.meta);
          }
          poll();
        };
        script = root.document.createElement('script');
        script.src = target;
        script.onerror = function () { cleanup(); if (!stopped) events.close({ beforeOpen: first, reason: 'network' }); };
        // A 304 (the long-poll timed out) runs no callback: ask again.
        script.onload = function () { if (root[name]) { cleanup(); first = false; poll(); } };
        root.document.head.appendChild(script);
        if (first) events.open();
      }
      setTimeout(poll);
      return { close: function () { stopped = true; if (script && script.parentNode) script.parentNode.removeChild(script); } };
    }
  };

  Herald.version = '0.1.0';
  Herald._splitObjects = splitObjects;
  if (typeof module === 'object' && module.exports) module.exports = Herald;
  else root.Herald = Herald;
})(typeof window !== 'undefined' ? window : this);
