/* fcomet web chat: plain JS, no build step.
 *
 * Talks to the fcomet responder as PROTOCOL.md describes: EventSource on
 * /stream (long-poll on /listen as a fallback, or forced with
 * ?transport=longpoll), POST /send, GET /who.  User text is only ever put
 * into the page as text nodes; links are built as <a> elements.
 *
 * Private rooms: a token (JWT) from the page that embeds the chat, as
 * <body data-token="..."> or ?token= in the page's URL, goes with every
 * request; its sub is the nick.  <body data-token-url="/my/token"> names
 * a URL of the site that answers a fresh one (as text, or JSON
 * {"token": ...}) when it expires. */
(function () {
  'use strict';

  var MAX_BYTES = 2000;          /* the server's default text maximum */
  var SEND_TIMEOUT = 15000;      /* ms to wait for /send to answer */
  var POLL_TIMEOUT = 25;         /* seconds the server may hold a /listen */
  var BACKOFF_MIN = 500, BACKOFF_MAX = 8000;   /* ms between reconnects */
  var SSE_OPEN_TIMEOUT = 10000;  /* ms before a stream that never opened is given up */
  var ROOM_RE = /^[A-Za-z0-9_.\-]{1,64}$/;
  var NICK_KEY = 'fcomet.nick';

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    entry: $('entry'), nick: $('nick'), room: $('room'), entryError: $('entry-error'),
    roomTitle: $('room-title'), status: $('status'), messages: $('messages'),
    whoList: $('who-list'), whoCount: $('who-count'),
    composer: $('composer'), text: $('text'), send: $('send'),
    counter: $('counter'), sendError: $('send-error')
  };

  var apiMeta = document.querySelector('meta[name="fcomet-api"]');
  var API = new URL((apiMeta && apiMeta.content) || 'chat/', document.baseURI);
  var forceLongPoll = new URLSearchParams(location.search).get('transport') === 'longpoll';
  var auth = {
    token: document.body.dataset.token || new URLSearchParams(location.search).get('token') || null,
    renewUrl: document.body.dataset.tokenUrl || null,
    renewing: null
  };
  var encoder = new TextEncoder();

  /* Connection state.  `gen` changes with every (re)entry so that callbacks
   * of an older connection recognise they are stale and do nothing. */
  var state = {
    room: null, nick: null, gen: 0,
    transport: forceLongPoll ? 'longpoll' : 'sse',
    lastId: Object.create(null),   /* room -> last event id shown */
    es: null, poll: null, timer: null, openTimer: null,
    backoff: BACKOFF_MIN, everOpened: false,
    who: new Set(), whoTimer: null,
    sending: false, unread: 0, gapNoticed: false
  };

  /* ---------- small helpers ---------- */

  function api(path, params) {
    var u = new URL(path, API);
    if (params) Object.keys(params).forEach(function (k) {
      if (params[k] !== undefined && params[k] !== null) u.searchParams.set(k, params[k]);
    });
    /* EventSource cannot set headers: the token goes in the query. */
    if (auth.token && path !== 'send') u.searchParams.set('token', auth.token);
    return u.toString();
  }

  /* The token's claims, read without checking it (the server does). */
  function tokenClaims() {
    try {
      var p = auth.token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(decodeURIComponent(escape(atob(p))));
    } catch (e) { return {}; }
  }

  /* A fresh token from the site's renewal URL: a promise of true if one
   * came.  One renewal at a time. */
  function renewToken() {
    if (!auth.renewUrl) return Promise.resolve(false);
    if (auth.renewing) return auth.renewing;
    auth.renewing = fetch(auth.renewUrl, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : ''; })
      .then(function (t) {
        try { t = JSON.parse(t).token || t; } catch (e) { /* plain text */ }
        t = String(t || '').trim();
        if (t && t !== auth.token) { auth.token = t; return true; }
        return false;
      })
      .catch(function () { return false; })
      .then(function (ok) { auth.renewing = null; return ok; });
    return auth.renewing;
  }

  /* Access refused (401/403): renew and go on if the token only expired
   * and the site can renew it, else say so and stop. */
  function refused(gen, status, msg) {
    if (gen !== state.gen) return;
    stopTransport();
    var again = status === 401 && auth.renewUrl;
    (again ? renewToken() : Promise.resolve(false)).then(function (renewed) {
      if (gen !== state.gen) return;
      if (renewed) { connect(); return; }
      setStatus('error', (status === 401 ? 'Access refused: ' : 'Not allowed in this room: ') +
        (msg || 'the chat server refused the request') + '.');
      document.body.dataset.refused = String(status);
    });
  }

  /* Why a stream failed, which EventSource does not say: a /listen that
   * answers at once tells the status. */
  function probe(gen) {
    fetch(api('listen', { room: state.room, timeout: 0 }), { cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401 || r.status === 403)
          return r.json().catch(function () { return {}; }).then(function (j) {
            refused(gen, r.status, j.message);
          });
        retryLater(gen, 'Connection lost.');
      })
      .catch(function () { retryLater(gen, 'Connection lost.'); });
  }

  function byteLength(s) { return encoder.encode(s).length; }

  /* PROTOCOL.md nick rule: trim U+0020, 1..32 code points, no control chars. */
  function cleanNick(s) {
    var n = String(s || '').replace(/^ +| +$/g, '');
    var len = Array.from(n).length;
    if (len < 1 || len > 32) return null;
    if (/[\u0000-\u001f\u007f-\u009f]/.test(n)) return null;
    return n;
  }

  function parseHash() {
    var h = location.hash.replace(/^#/, '');
    var p = new URLSearchParams(h);
    return { room: p.get('room'), nick: p.get('nick') };
  }

  function setHash(room) {
    var want = '#room=' + encodeURIComponent(room);
    if (location.hash !== want) history.replaceState(null, '', want);
  }

  function setStatus(kind, text) {
    el.status.dataset.state = kind;
    el.status.textContent = text;
    document.body.dataset.state = kind;
    document.body.dataset.transport = state.transport;
  }

  function showEntryError(msg) {
    el.entryError.textContent = msg || '';
    el.entryError.hidden = !msg;
  }

  function showSendError(msg, kind) {
    el.sendError.textContent = msg || '';
    el.sendError.hidden = !msg;
    el.sendError.dataset.kind = msg ? (kind || 'error') : '';
  }

  function fmtTime(ts) {
    var d = new Date(ts);
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function nickHue(nick) {
    var h = 0;
    for (var i = 0; i < nick.length; i++) h = (h * 31 + nick.charCodeAt(i)) >>> 0;
    return h % 360;
  }

  /* Append `text` to `parent`, turning http(s) URLs into links.  Only text
   * nodes and <a> elements built here are ever created. */
  var URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
  function appendRich(parent, text) {
    var last = 0, m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) {
      var raw = m[0];
      /* Trailing punctuation is more likely prose than part of the URL. */
      var trail = /[.,;:!?)\]}]+$/.exec(raw);
      if (trail) raw = raw.slice(0, raw.length - trail[0].length);
      var href = null;
      try {
        var u = new URL(raw);
        if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
      } catch (e) { href = null; }
      if (!href) continue;
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = document.createElement('a');
      a.href = href;
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      a.textContent = raw;
      parent.appendChild(a);
      last = m.index + raw.length;
      URL_RE.lastIndex = last;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  /* ---------- the message list ---------- */

  /* The list follows new lines while the reader is at its bottom; one who
   * scrolled up to read stays where they are. */
  var stick = true;
  function nearBottom() {
    var m = el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 40;
  }
  function toBottom() { el.messages.scrollTop = el.messages.scrollHeight; }
  var lastTop = 0;
  el.messages.addEventListener('scroll', function () {
    /* Only a move up (the reader's) unsticks; the list shrinking under a
     * growing who list, say, does not. */
    var top = el.messages.scrollTop;
    if (top < lastTop - 2) stick = nearBottom();
    else if (nearBottom()) stick = true;
    lastTop = top;
  });
  if (typeof ResizeObserver === 'function')
    new ResizeObserver(function () { if (stick) toBottom(); }).observe(el.messages);

  function addLine(li) {
    el.messages.appendChild(li);
    if (stick) toBottom();
  }

  function renderEvent(ev) {
    var li = document.createElement('li');
    li.dataset.id = String(ev.id);
    var time = document.createElement('time');
    var d = new Date(ev.ts);
    time.dateTime = isNaN(d) ? '' : d.toISOString();
    time.textContent = fmtTime(ev.ts);
    time.title = isNaN(d) ? '' : d.toLocaleString();
    if (ev.type === 'message') {
      li.className = 'msg' + (ev.nick === state.nick ? ' mine' : '');
      var head = document.createElement('div');
      head.className = 'meta';
      var nick = document.createElement('span');
      nick.className = 'nick';
      nick.style.setProperty('--hue', nickHue(ev.nick || ''));
      nick.textContent = ev.nick;
      head.appendChild(nick);
      head.appendChild(document.createTextNode(' '));
      head.appendChild(time);
      var body = document.createElement('div');
      body.className = 'text';
      appendRich(body, String(ev.text == null ? '' : ev.text));
      li.appendChild(head);
      li.appendChild(body);
    } else {
      li.className = 'sys ' + ev.type;
      var what = ev.type === 'join' ? ' joined' : ev.type === 'leave' ? ' left' : ' (' + ev.type + ')';
      var s = document.createElement('span');
      s.textContent = (ev.nick || 'someone') + what;
      li.appendChild(s);
      li.appendChild(document.createTextNode(' \u00b7 '));
      li.appendChild(time);
    }
    addLine(li);
  }

  function notice(text, kind) {
    var li = document.createElement('li');
    li.className = 'notice ' + (kind || '');
    li.textContent = text;
    addLine(li);
  }

  /* ---------- events from either transport ---------- */

  function handleEvent(gen, ev) {
    if (gen !== state.gen || !ev || typeof ev.id !== 'number') return;
    if (ev.room && ev.room !== state.room) return;
    var last = state.lastId[state.room] || 0;
    if (ev.id <= last) return;                     /* seen already */
    if (last > 0 && ev.id > last + 1 && !state.gapNoticed)
      notice('Some messages were missed (' + (ev.id - last - 1) + ' not received).', 'gap');
    state.gapNoticed = false;
    state.lastId[state.room] = ev.id;
    renderEvent(ev);
    if (ev.type === 'join') { state.who.add(ev.nick); renderWho(); }
    else if (ev.type === 'leave') { state.who.delete(ev.nick); renderWho(); }
    else if (ev.type === 'message' && document.hidden && ev.nick !== state.nick) {
      state.unread++;
      updateTitle();
    }
  }

  /* A gap or reset announced by the server.  `cursor` is where we resumed. */
  function handleGap(gen, kind, cursor) {
    if (gen !== state.gen) return;
    state.gapNoticed = true;       /* the jump that follows is this gap */
    if (kind === 'reset') {
      state.lastId[state.room] = 0;
      notice('The chat was reset on the server; some messages were missed.', 'gap reset');
    } else if (cursor > 0) {
      notice('Some messages were missed: they are older than the room keeps.', 'gap');
    } else {
      /* Entering with since=0: the room simply keeps no older history. */
      notice('Earlier messages are no longer kept.', 'history');
    }
  }

  function connected(gen) {
    if (gen !== state.gen) return;
    state.backoff = BACKOFF_MIN;
    state.everOpened = true;
    setStatus('live', state.transport === 'sse' ? 'Connected' : 'Connected (long-poll)');
    scheduleWho(0);
  }

  /* ---------- presence ---------- */

  function renderWho() {
    var nicks = Array.from(state.who).sort(function (a, b) {
      /* code point order, as the server sorts */
      return a < b ? -1 : a > b ? 1 : 0;
    });
    el.whoList.textContent = '';
    nicks.forEach(function (n) {
      var li = document.createElement('li');
      li.textContent = n;
      if (n === state.nick) li.className = 'me';
      el.whoList.appendChild(li);
    });
    el.whoCount.textContent = '(' + nicks.length + ')';
  }

  function scheduleWho(delay) {
    clearTimeout(state.whoTimer);
    var gen = state.gen, room = state.room;
    state.whoTimer = setTimeout(function () {
      fetch(api('who', { room: room }), { cache: 'no-store' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j || gen !== state.gen || !Array.isArray(j.nicks)) return;
          state.who = new Set(j.nicks);
          renderWho();
        })
        .catch(function () { /* presence is best effort */ });
    }, delay);
  }

  /* ---------- transports ---------- */

  function stopTransport() {
    clearTimeout(state.timer); state.timer = null;
    clearTimeout(state.openTimer); state.openTimer = null;
    if (state.es) { state.es.close(); state.es = null; }
    if (state.poll) { state.poll.abort(); state.poll = null; }
  }

  function retryLater(gen, why) {
    if (gen !== state.gen) return;
    stopTransport();
    var wait = state.backoff;
    state.backoff = Math.min(state.backoff * 2, BACKOFF_MAX);
    setStatus('reconnecting', (why ? why + ' ' : '') + 'Reconnecting in ' + Math.ceil(wait / 1000) + ' s\u2026');
    state.timer = setTimeout(function () { if (gen === state.gen) connect(); }, wait);
  }

  function connect() {
    stopTransport();
    if (state.transport === 'sse' && typeof EventSource === 'function') connectSSE();
    else { state.transport = 'longpoll'; connectPoll(); }
  }

  function connectSSE() {
    var gen = state.gen;
    var since = state.lastId[state.room] || 0;
    setStatus('connecting', 'Connecting\u2026');
    var es = new EventSource(api('stream', { room: state.room, since: since, nick: state.nick }));
    state.es = es;
    var opened = false;
    var onData = function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      handleEvent(gen, ev);
    };
    es.addEventListener('message', onData);
    es.addEventListener('join', onData);
    es.addEventListener('leave', onData);
    ['gap', 'reset'].forEach(function (kind) {
      es.addEventListener(kind, function (e) {
        var d = {};
        try { d = JSON.parse(e.data); } catch (err) { d = {}; }
        handleGap(gen, kind, typeof d.cursor === 'number' ? d.cursor : since);
      });
    });
    es.onopen = function () {
      if (gen !== state.gen) return;
      opened = true;
      clearTimeout(state.openTimer);
      connected(gen);
    };
    es.onerror = function () {
      if (gen !== state.gen || state.es !== es) return;
      if (!state.everOpened && !opened) {
        /* The stream never worked here: a proxy that does not pass it on,
         * or no EventSource support.  Long-polling works everywhere. */
        fallBackToPoll(gen);
        return;
      }
      if (es.readyState === EventSource.CLOSED) {
        /* The browser gave up (an error status from the web server while
         * the responder restarts, say, or access refused): find out
         * which, and reconnect ourselves from the last id shown. */
        stopTransport();
        probe(gen);
      } else {
        setStatus('reconnecting', 'Connection lost. Reconnecting\u2026');
        state.backoff = Math.min(state.backoff * 2, BACKOFF_MAX);
      }
    };
    state.openTimer = setTimeout(function () {
      if (gen === state.gen && !opened && !state.everOpened) fallBackToPoll(gen);
    }, SSE_OPEN_TIMEOUT);
  }

  function fallBackToPoll(gen) {
    if (gen !== state.gen) return;
    stopTransport();
    state.transport = 'longpoll';
    connectPoll();
  }

  function connectPoll() {
    var gen = state.gen;
    var room = state.room;
    var since = state.lastId[room] || 0;
    var ctl = new AbortController();
    state.poll = ctl;
    var guard = setTimeout(function () { ctl.abort(); }, (POLL_TIMEOUT + 15) * 1000);
    if (!state.everOpened) setStatus('connecting', 'Connecting\u2026');
    fetch(api('listen', { room: room, since: since, nick: state.nick, timeout: POLL_TIMEOUT }),
          { cache: 'no-store', signal: ctl.signal })
      .then(function (r) {
        if (!r.ok) {
          return r.json().catch(function () { return {}; }).then(function (j) {
            var err = new Error(j.message || ('HTTP ' + r.status));
            err.status = r.status;
            throw err;
          });
        }
        return r.json();
      })
      .then(function (j) {
        clearTimeout(guard);
        if (gen !== state.gen) return;
        state.poll = null;
        if (el.status.dataset.state !== 'live') connected(gen);
        if (j.reset) handleGap(gen, 'reset', since);
        else if (j.gap) handleGap(gen, 'gap', since);
        (j.events || []).forEach(function (ev) { handleEvent(gen, ev); });
        /* `last` is the next cursor; never go backwards unless reset. */
        if (typeof j.last === 'number') {
          var cur = state.lastId[room] || 0;
          if (j.reset || j.last > cur) state.lastId[room] = j.last;
        }
        connectPoll();
      })
      .catch(function (err) {
        clearTimeout(guard);
        if (gen !== state.gen) return;
        state.poll = null;
        if (err && (err.status === 401 || err.status === 403)) {
          refused(gen, err.status, err.message);
          return;
        }
        if (err && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 408) {
          /* Our request is wrong (bad nick, say): retrying will not help. */
          setStatus('error', 'Cannot listen: ' + err.message);
          return;
        }
        retryLater(gen, 'Connection lost.');
      });
  }

  /* ---------- entering a room ---------- */

  function enter(room, nick) {
    stopTransport();
    state.gen++;
    state.room = room;
    state.nick = nick;
    /* On entry the history is shown again: ask from id 0. */
    state.lastId[room] = 0;
    state.everOpened = false;
    state.backoff = BACKOFF_MIN;
    state.transport = forceLongPoll ? 'longpoll' : 'sse';
    state.who = new Set();
    delete document.body.dataset.refused;
    renderWho();
    el.messages.textContent = '';
    stick = true;
    lastTop = 0;
    el.roomTitle.textContent = '#' + room;
    el.nick.value = nick;
    el.room.value = room;
    document.body.dataset.room = room;
    updateTitle();
    setHash(room);
    try { localStorage.setItem(NICK_KEY, nick); } catch (e) { /* private mode */ }
    el.text.disabled = false;
    el.send.disabled = false;
    showEntryError('');
    showSendError('');
    connect();
    el.text.focus();
  }

  function tryEnter(roomIn, nickIn) {
    var room = String(roomIn || '').trim() || 'lobby';
    var nick = cleanNick(nickIn);
    if (!ROOM_RE.test(room)) {
      showEntryError('A room name has 1 to 64 letters, digits, "_", "." or "-".');
      el.room.focus();
      return false;
    }
    if (!nick) {
      showEntryError('Choose a nick of 1 to 32 characters, without control characters.');
      el.nick.focus();
      return false;
    }
    if (room === state.room && nick === state.nick && (state.es || state.poll || state.timer)) {
      el.text.focus();
      return true;
    }
    enter(room, nick);
    return true;
  }

  el.entry.addEventListener('submit', function (e) {
    e.preventDefault();
    tryEnter(el.room.value, el.nick.value);
  });

  window.addEventListener('hashchange', function () {
    var h = parseHash();
    var room = h.room || 'lobby';
    var nick = h.nick != null && !el.nick.readOnly ? h.nick : state.nick;
    if (room !== state.room || (nick && nick !== state.nick)) tryEnter(room, nick);
    else setHash(room);
  });

  /* ---------- sending ---------- */

  function updateCounter() {
    var left = MAX_BYTES - byteLength(el.text.value);
    el.counter.textContent = left >= 0 ? left + ' bytes left' : (-left) + ' bytes too many';
    el.counter.classList.toggle('over', left < 0);
    el.counter.classList.toggle('low', left >= 0 && left < 100);
  }

  function send() {
    if (state.sending || !state.room) return;
    var text = el.text.value;
    if (text.length === 0 || /^[\s]*$/.test(text)) { el.text.focus(); return; }
    state.sending = true;
    el.send.disabled = true;
    el.composer.setAttribute('aria-busy', 'true');
    var body = new URLSearchParams();
    body.set('room', state.room);
    body.set('nick', state.nick);
    body.set('text', text);
    var ctl = new AbortController();
    var guard = setTimeout(function () { ctl.abort(); }, SEND_TIMEOUT);
    var headers = auth.token ? { Authorization: 'Bearer ' + auth.token } : {};
    fetch(api('send'), { method: 'POST', body: body, cache: 'no-store', signal: ctl.signal, headers: headers })
      .then(function (r) {
        if (r.ok) {
          /* Accepted: clear only if the user did not type on meanwhile. */
          if (el.text.value === text) el.text.value = '';
          updateCounter();
          showSendError('');
          return;
        }
        return r.json().catch(function () { return {}; }).then(function (j) {
          showSendError(sendErrorText(r, j), r.status === 429 ? 'rate' : 'error');
        });
      })
      .catch(function (e) {
        if (e && e.name === 'AbortError')
          showSendError('No answer from the chat server in ' + (SEND_TIMEOUT / 1000) +
            ' s; your message may not have been sent. Try again.');
        else
          showSendError('Could not reach the chat server; your message was not sent. Check the connection and try again.');
      })
      .then(function () {
        clearTimeout(guard);
        state.sending = false;
        el.send.disabled = false;
        el.composer.removeAttribute('aria-busy');
      });
  }

  function sendErrorText(r, j) {
    var msg = j && typeof j.message === 'string' ? j.message : '';
    switch (r.status) {
      case 429: {
        var ra = parseInt(r.headers.get('Retry-After') || '', 10);
        var wait = isNaN(ra) || ra < 1 ? 1 : ra;
        return 'Too many messages: please wait ' + wait + ' second' + (wait === 1 ? '' : 's') +
          ' before sending again. Your message was not sent.';
      }
      case 413:
        return 'Message too long: at most ' + MAX_BYTES + ' bytes (' +
          byteLength(el.text.value) + ' now). Shorten it and send again.';
      case 400:
        return 'Message refused: ' + (msg || 'the server could not accept it') + '.';
      case 401:
        return 'Access refused: ' + (msg || 'a token is needed') + '. Your message was not sent.';
      case 403:
        return 'Not allowed to send: ' + (msg || 'forbidden') + '.';
      case 503:
        return 'The chat is unavailable right now; your message was not sent. Try again shortly.';
      default:
        return 'Sending failed (' + r.status + (msg ? ': ' + msg : '') + '). Your message was not sent.';
    }
  }

  el.composer.addEventListener('submit', function (e) { e.preventDefault(); send(); });
  el.text.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      send();
    }
  });
  el.text.addEventListener('input', updateCounter);

  /* ---------- unread count in the title ---------- */

  function updateTitle() {
    var base = (state.room ? '#' + state.room + ' \u2013 ' : '') + 'fcomet chat';
    document.title = (state.unread > 0 ? '(' + state.unread + ') ' : '') + base;
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && state.unread) { state.unread = 0; updateTitle(); }
  });

  /* The browser says the network is gone: a stream over it may hang dead
   * without an error, so close it and say so.  Back online: reconnect at
   * once from the last id shown, without waiting for a backoff. */
  window.addEventListener('offline', function () {
    if (!state.room) return;
    stopTransport();
    setStatus('offline', 'Offline: waiting for the network\u2026');
  });
  window.addEventListener('online', function () {
    if (!state.room) return;
    state.backoff = BACKOFF_MIN;
    connect();
  });

  window.addEventListener('pagehide', function () { stopTransport(); });

  /* ---------- start ---------- */

  updateCounter();
  (function start() {
    var h = parseHash();
    var stored = null;
    try { stored = localStorage.getItem(NICK_KEY); } catch (e) { stored = null; }
    var room = h.room || 'lobby';
    var nick = h.nick != null ? h.nick : stored;
    if (auth.token && typeof tokenClaims().sub === 'string') {
      /* The token says who: that is the nick, not to be changed here. */
      nick = tokenClaims().sub;
      el.nick.readOnly = true;
    }
    el.room.value = room;
    el.nick.value = nick || '';
    el.roomTitle.textContent = '#' + room;
    if (nick && cleanNick(nick) && ROOM_RE.test(room)) {
      enter(room, cleanNick(nick));
    } else {
      setStatus('idle', 'Choose a nick, then Enter.');
      if (nick) tryEnter(room, nick); else el.nick.focus();
    }
  })();
})();
