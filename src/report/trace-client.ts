/**
 * The trace page's script, inlined. It reads the data embedded in the page, draws the run's
 * concurrency on a canvas and the agents as virtualised rows (only the rows in view are in the
 * DOM, so 1000 agents scroll as smoothly as 10), and renders a transcript when an agent is
 * clicked. Every text from the run is set with textContent, never parsed as HTML.
 */
export const TRACE_JS = String.raw`
(function () {
  'use strict';
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById('trace-data').textContent);
  var ROW = 22;
  var A = D.agents.map(function (r) {
    return { i: r[0], l: r[1], p: r[2], s: r[3], m: r[4], q: r[5], b: r[6], f: r[7], it: r[8], ot: r[9],
      cr: r[10], cw: r[11], u: r[12], tu: r[13], c: r[14], e: r[15] };
  });
  var byIndex = {};
  A.forEach(function (a) { byIndex[a.i] = a; });
  var span = Math.max(1, D.run.durationMs);
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return '-';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
  }
  function fmtTok(n) { return n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'k' : String(n); }
  function fmtUsd(u) { return u === null || u === undefined ? '$ unknown' : '$' + u.toFixed(u < 1 ? 4 : 2); }
  function tokens(a) { return a.it + a.ot + a.cr + a.cw; }
  function name(a) { return '#' + a.i + ' ' + (a.l || '(no label)'); }
  function promptOf(a) {
    var t = D.transcripts[a.i];
    var s = t && t.find(function (l) { return l.type === 'start'; });
    return s ? s.prompt : '';
  }

  // Finding threads: a label is a verb and a subject ("verify src/a.js:10"); agents whose subjects
  // match, or share the subject's root once a trailing ":line" is removed, work on one finding.
  function subject(label) {
    if (!label) return null;
    var m = /^\S+\s+(.+)$/.exec(label.trim());
    return m ? m[1] : null;
  }
  function rootOf(s) { return s.replace(/:\d+(?:-\d+)?$/, ''); }
  var byRoot = {};
  A.forEach(function (a) {
    var s = subject(a.l);
    if (s) (byRoot[rootOf(s)] = byRoot[rootOf(s)] || []).push(a);
  });
  function thread(a) {
    var s = subject(a.l);
    if (!s) return [];
    var root = rootOf(s);
    return (byRoot[root] || []).filter(function (x) {
      var t = subject(x.l);
      return t === s || t === root || s === root;
    });
  }

  // Filters and the rows they leave: a header per phase, then its agents in start order.
  var filter = { phase: '', status: '', text: '' };
  var rows = [];
  function matches(a) {
    if (filter.phase !== '' && String(a.p) !== filter.phase) return false;
    if (filter.status !== '' && a.s !== filter.status) return false;
    if (!filter.text) return true;
    var hay = (name(a) + ' ' + a.s + ' ' + (D.models[a.m] || '') + ' ' + (a.e || '') + ' ' + promptOf(a)).toLowerCase();
    return hay.indexOf(filter.text) >= 0;
  }
  function buildRows() {
    rows = [];
    D.phaseNames.forEach(function (ph, pi) {
      var list = A.filter(function (a) { return a.p === pi && matches(a); });
      var oracles = D.oracles.filter(function (o) { return o.phase === ph; });
      if (list.length === 0 && (oracles.length === 0 || filter.text || filter.status)) return;
      if (filter.phase !== '' && filter.phase !== String(pi)) return;
      rows.push({ phase: ph, count: list.length, oracles: oracles });
      list.sort(function (x, y) { return (x.q ?? x.f ?? 0) - (y.q ?? y.f ?? 0) || x.i - y.i; });
      list.forEach(function (a) { rows.push({ agent: a }); });
    });
    $('rows-inner').style.height = rows.length * ROW + 'px';
    $('shown').textContent = rows.filter(function (r) { return r.agent; }).length + ' of ' + A.length + ' agents shown';
    renderRows(true);
  }
  function pct(t) { return (100 * Math.max(0, Math.min(span, t)) / span) + '%'; }
  function bar(cls, from, to) {
    var b = el('div', 'bar ' + cls);
    b.style.left = pct(from);
    b.style.width = 'calc(' + pct(to) + ' - ' + pct(from) + ')';
    return b;
  }
  function rowNode(r, k) {
    var n = el('div', r.agent ? 'row' : 'row phase-row');
    n.style.top = k * ROW + 'px';
    var track = el('div', 'track');
    if (r.agent) {
      var a = r.agent;
      n.dataset.index = a.i;
      if (selected === a.i) n.classList.add('selected');
      var label = el('div', 'name');
      label.appendChild(el('span', 'sw s-' + a.s));
      label.appendChild(document.createTextNode(name(a)));
      label.title = name(a) + ' (' + a.s + ')';
      n.appendChild(label);
      var end = a.f ?? span;
      if (a.q !== null && a.b !== null && a.b > a.q) track.appendChild(bar('wait', a.q, a.b));
      if (a.s === 'queued') track.appendChild(bar('wait', a.q ?? 0, end));
      else if (a.s === 'replayed') track.appendChild(bar('s-replayed', Math.max(0, end - span / 400), end));
      else track.appendChild(bar('s-' + a.s, a.b ?? a.q ?? end, end));
    } else {
      n.appendChild(el('div', 'name', r.phase + ' · ' + r.count + (r.count === 1 ? ' agent' : ' agents')));
      r.oracles.forEach(function (o) {
        var m = el('div', 'oracle-mark');
        m.style.left = pct(Math.max(0, o.t - o.durationMs));
        m.style.width = 'calc(max(2px, ' + pct(o.t) + ' - ' + pct(Math.max(0, o.t - o.durationMs)) + '))';
        m.title = 'oracle: ' + (o.passed ? 'passed' : 'failed') + ' — ' + o.summary;
        track.appendChild(m);
      });
    }
    n.appendChild(track);
    return n;
  }
  var drawn = '';
  function renderRows(force) {
    var box = $('rows');
    var first = Math.max(0, Math.floor(box.scrollTop / ROW) - 10);
    var last = Math.min(rows.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW) + 10);
    var key = first + ':' + last;
    if (!force && key === drawn) return;
    drawn = key;
    var inner = $('rows-inner');
    inner.textContent = '';
    var frag = document.createDocumentFragment();
    for (var k = first; k < last; k++) frag.appendChild(rowNode(rows[k], k));
    inner.appendChild(frag);
  }

  // The concurrency chart: agents running (solid) and waiting for a slot (light) over time.
  function drawChart() {
    var c = $('chart');
    var w = c.clientWidth, h = c.clientHeight, dpr = window.devicePixelRatio || 1;
    c.width = w * dpr; c.height = h * dpr;
    var g = c.getContext('2d');
    g.scale(dpr, dpr);
    var steps = function (from, to) {
      var ev = [];
      A.forEach(function (a) {
        var s = a[from], e = a[to] ?? span;
        if (s !== null && s !== undefined && e > s) { ev.push([s, 1]); ev.push([e, -1]); }
      });
      return ev.sort(function (x, y) { return x[0] - y[0] || x[1] - y[1]; });
    };
    var running = steps('b', 'f'), waiting = steps('q', 'b');
    var peak = 1, n = 0;
    running.forEach(function (e) { n += e[1]; peak = Math.max(peak, n); });
    var plot = function (ev, colour) {
      var level = 0;
      g.fillStyle = colour;
      for (var k = 0; k < ev.length; k++) {
        level += ev[k][1];
        var x0 = ev[k][0] / span * w, x1 = (k + 1 < ev.length ? ev[k + 1][0] : span) / span * w;
        var y = Math.min(level, peak) / peak * (h - 4);
        if (y > 0) g.fillRect(x0, h - y, Math.max(0.5, x1 - x0), y);
      }
    };
    plot(waiting, 'rgba(160,168,178,0.45)');
    plot(running, 'rgba(59,130,196,0.85)');
    $('peak').textContent = 'peak ' + peak + ' running' + (D.run.concurrency ? ' (cap ' + D.run.concurrency + ')' : '');
  }
  function drawAxis() {
    var axis = $('axis');
    axis.textContent = '';
    var nice = [100, 250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000];
    var stepMs = nice.find(function (s) { return span / s <= 8; }) || 7200000;
    for (var t = 0; t <= span; t += stepMs) {
      var s = el('span', '', fmtMs(t));
      s.style.left = pct(t);
      axis.appendChild(s);
    }
  }

  // The detail panel: one agent, its finding thread and its transcript.
  var selected = null;
  function show(index) {
    var a = byIndex[index];
    if (!a) return;
    selected = index;
    renderRows(true);
    var box = $('detail');
    box.textContent = '';
    box.appendChild(el('h2', '', name(a)));
    var facts = [D.phaseNames[a.p], a.s, D.models[a.m] || '', 'queued ' + fmtMs(a.q), 'started ' + fmtMs(a.b),
      'finished ' + fmtMs(a.f), a.b !== null && a.f !== null ? 'ran ' + fmtMs(a.f - a.b) : '',
      a.tu + ' turns', fmtTok(tokens(a)) + ' tokens (in ' + fmtTok(a.it) + ', out ' + fmtTok(a.ot) + ', cache read ' +
      fmtTok(a.cr) + ', cache write ' + fmtTok(a.cw) + ')', fmtUsd(a.u), a.c ? a.c + ' commands' : ''];
    box.appendChild(el('div', 'muted', facts.filter(Boolean).join(' · ')));
    if (a.e) box.appendChild(el('pre', '', 'error: ' + a.e));
    var th = thread(a);
    if (th.length > 1) {
      box.appendChild(el('h2', '', 'Finding thread'));
      var ul = el('ul', 'thread');
      th.forEach(function (x) {
        var li = el('li', x.i === a.i ? 'current' : '');
        var link = el('a', '', name(x));
        link.addEventListener('click', function () { location.hash = 'agent-' + x.i; });
        li.appendChild(link);
        li.appendChild(el('span', 'muted', ' · ' + x.s + answerHint(x)));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    renderTranscript(box, a, D.transcripts[a.i]);
  }
  function answerHint(a) {
    var t = D.transcripts[a.i];
    var end = t && t.find(function (l) { return l.type === 'end'; });
    var r = end && end.result;
    if (r && typeof r === 'object' && typeof r.confirmed === 'boolean') return r.confirmed ? ' · confirmed' : ' · refuted';
    if (r && typeof r === 'object' && typeof r.fixed === 'boolean') return r.fixed ? ' · fixed' : ' · not fixed';
    return '';
  }
  function pretty(v) { return typeof v === 'string' ? v : JSON.stringify(v, null, 2); }
  function entry(box, cls, title, body) {
    var e = el('div', 'entry ' + cls);
    e.appendChild(el('h3', '', title));
    if (body !== undefined && body !== '') e.appendChild(el('pre', '', body));
    box.appendChild(e);
    return e;
  }
  function renderTranscript(box, a, lines) {
    box.appendChild(el('h2', '', 'Transcript'));
    var file = 'transcripts.jsonl';
    var where = file + ', the lines with "agent": ' + a.i;
    if (!lines) { box.appendChild(el('div', 'empty', 'No transcript: this agent never started.')); return; }
    var outputs = {};
    lines.forEach(function (l) { if (l.type === 'tool') outputs[l.id] = l; });
    lines.forEach(function (l) {
      if (l.type === 'start') {
        entry(box, 'prompt', 'Prompt' + (l.tools ? ' · tools: ' + l.tools.join(', ') : ''), l.prompt);
      } else if (l.type === 'turn') {
        var u = l.u || [0, 0, 0, 0];
        var e = entry(box, 'turn', 'Turn ' + l.turn + ' · ' + l.model + ' · ' + fmtMs(l.ms) + ' · in ' + fmtTok(u[0]) +
          ', out ' + fmtTok(u[1]) + ', cache read ' + fmtTok(u[2]) + ', cache write ' + fmtTok(u[3]) + ' · ' +
          fmtUsd(l.usd) + (l.retries ? ' · ' + l.retries + ' retries' : ''), l.text);
        (l.toolCalls || []).forEach(function (c) {
          var out = outputs[c.id];
          var t = entry(e, 'tool' + (out && out.isError ? ' error' : ''), 'Tool call: ' + c.name + (out ? ' · ' + fmtMs(out.ms) : ''), pretty(c.input));
          if (out) { t.appendChild(el('div', 'muted', out.isError ? 'error output' : 'output')); t.appendChild(el('pre', 'output', out.output)); }
        });
      } else if (l.type === 'note') entry(box, 'note', 'dwf told the model', l.text);
      else if (l.type === 'model-error') entry(box, 'error', 'Model call failed after ' + fmtMs(l.ms), l.error);
      else if (l.type === 'omitted') entry(box, 'note', l.lines + ' lines left out of this page: the full transcript is in ' + where);
      else if (l.type === 'end') {
        var head = (l.status === 'completed' ? 'Answer' : 'Ended: ' + l.status) + ' · ' + fmtMs(l.ms) + ' · ' + l.turns + ' turns · ' + fmtUsd(a.u);
        entry(box, l.status === 'completed' ? 'answer' : 'error', head, l.status === 'completed' ? pretty(l.result) : l.error);
      } else if (l.type === 'replayed') {
        entry(box, 'note', 'Replayed from run ' + l.from + ' at no cost; its transcript is ' + l.transcript.replace('../', 'the runs directory\'s '));
      }
    });
    var link = el('a', 'agent-link', 'full transcript: ' + where);
    link.href = file;
    box.appendChild(link);
  }

  function setup() {
    var phaseSel = $('f-phase'), statusSel = $('f-status');
    D.phaseNames.forEach(function (p, i) { var o = el('option', '', p); o.value = String(i); phaseSel.appendChild(o); });
    var statuses = [];
    A.forEach(function (a) { if (statuses.indexOf(a.s) < 0) statuses.push(a.s); });
    statuses.forEach(function (s) { var o = el('option', '', s); o.value = s; statusSel.appendChild(o); });
    phaseSel.addEventListener('change', function () { filter.phase = phaseSel.value; buildRows(); });
    statusSel.addEventListener('change', function () { filter.status = statusSel.value; buildRows(); });
    var timer = null;
    $('f-text').addEventListener('input', function (ev) {
      clearTimeout(timer);
      timer = setTimeout(function () { filter.text = ev.target.value.trim().toLowerCase(); buildRows(); }, 120);
    });
    document.querySelectorAll('tr.phase-link').forEach(function (tr) {
      tr.addEventListener('click', function () { phaseSel.value = tr.dataset.phase; filter.phase = tr.dataset.phase; buildRows(); });
    });
    var pending = false;
    $('rows').addEventListener('scroll', function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; renderRows(false); });
    });
    $('rows').addEventListener('click', function (ev) {
      var r = ev.target.closest('.row[data-index]');
      if (r) location.hash = 'agent-' + r.dataset.index;
    });
    window.addEventListener('hashchange', fromHash);
    window.addEventListener('resize', function () { drawChart(); renderRows(true); });
  }
  function fromHash() {
    var m = /^#agent-(\d+)$/.exec(location.hash);
    if (m) show(Number(m[1]));
  }
  setup();
  drawAxis();
  drawChart();
  buildRows();
  fromHash();
  document.body.dataset.readyMs = String(Math.round(performance.now() - t0));
})();
`;
