// The history dashboard's drawing: reads the JSON data block, draws each
// chart as inline SVG (one polyline per machine, never one across
// machines), and opens a point's details on a click, on Enter, or from
// the address (#point=<chart>/<series>/<point>), so a link can point at
// one commit on one machine. Plain ES2017, no library: the page loads
// nothing.
'use strict';
(function () {
  const NS = 'http://www.w3.org/2000/svg';
  const PLOT_HEIGHT = 250;
  // Above the plot, the change-point labels: rows of this height.
  const LABEL_ROW = 15;
  // Width of a label's character, bold 12px, to keep labels apart.
  const LABEL_CHAR = 7;
  const MARGIN = { right: 28, bottom: 56, left: 78 };
  // Narrower than this, the plot scrolls rather than crushes its labels.
  const MIN_WIDTH = 520;
  const data = JSON.parse(document.getElementById('data').textContent);
  const panel = document.getElementById('detail');
  // [chart, series, point] whose details are open, or null.
  let chosen = null;

  function node(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }

  function label(parent, x, y, content, attrs) {
    const t = node('text', Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = content;
    return t;
  }

  function html(name, cls, parent, content) {
    const e = document.createElement(name);
    if (cls) e.className = cls;
    if (content !== undefined) e.textContent = content;
    if (parent) parent.appendChild(e);
    return e;
  }

  function round(v) {
    return Math.round(v * 10) / 10;
  }

  // A tick's label: four significant digits, thousands as k, M, G so a
  // byte count stays short.
  function tickText(v) {
    const a = Math.abs(v);
    const units = [[1e9, 1e9, 'G'], [1e6, 1e6, 'M'], [1e4, 1e3, 'k']];
    for (const [from, size, suffix] of units) {
      if (a >= from) return String(+(v / size).toPrecision(3)) + suffix;
    }
    return String(+v.toPrecision(4));
  }

  function linearTicks(lo, hi) {
    const raw = (hi - lo) / 5;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / magnitude;
    const step = magnitude * (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10);
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      ticks.push(+v.toPrecision(12));
    }
    return ticks;
  }

  // 1, 2 and 5 in each decade; only powers of ten when decades are many.
  function logTicks(lo, hi) {
    const ticks = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * Math.pow(10, e);
        if (v >= lo && v <= hi) ticks.push(+v.toPrecision(12));
      }
    }
    return ticks.length > 8 ? ticks.filter((v) => v.toExponential()[0] === '1') : ticks;
  }

  function yDomain(chart) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of chart.series) {
      for (const p of s.points) {
        lo = Math.min(lo, p.median, p.interval ? p.interval.low : p.median);
        hi = Math.max(hi, p.median, p.interval ? p.interval.high : p.median);
      }
    }
    // A tenfold spread makes a linear axis flatten the small values.
    const log = lo > 0 && hi / lo > 10;
    if (log) return { log: true, lo: lo / 1.15, hi: hi * 1.15 };
    const pad = hi > lo ? (hi - lo) * 0.12 : Math.abs(hi) * 0.05 || 1;
    return { log: false, lo: lo - pad, hi: hi + pad };
  }

  // Change-point labels go in rows above the plot, each on the first row
  // where it overlaps no other: markers of several machines at one commit
  // stay readable.
  function placeMarkers(chart, px, band, plotW) {
    const markers = [];
    chart.series.forEach((s, si) => {
      for (const c of s.change_points) {
        const after = s.points[c.index];
        if (!after) continue;
        const before = s.points[c.index - 1];
        const cx = round(before ? (px(si, before) + px(si, after)) / 2 : px(si, after) - band / 2);
        const end = cx > MARGIN.left + plotW * 0.7;
        const w = c.label.length * LABEL_CHAR;
        const x0 = end ? cx - 5 - w : cx + 5;
        markers.push({ si: si, c: c, after: after, cx: cx, end: end, x0: x0, x1: x0 + w, row: 0 });
      }
    });
    const rows = [];
    for (const m of markers) {
      let r = 0;
      while ((rows[r] || []).some((o) => m.x0 < o.x1 + 10 && o.x0 < m.x1 + 10)) r += 1;
      (rows[r] = rows[r] || []).push(m);
      m.row = r;
    }
    return { markers: markers, rows: Math.max(1, rows.length) };
  }

  function draw(ci) {
    const chart = data.charts[ci];
    const host = document.querySelector('.plot[data-chart="' + ci + '"]');
    if (!host) return false;
    host.textContent = '';
    const total = chart.series.reduce((n, s) => n + s.points.length, 0);
    if (total === 0) return false;

    const width = Math.max(host.clientWidth, MIN_WIDTH);
    const plotW = width - MARGIN.left - MARGIN.right;
    const commits = new Map();
    for (const s of chart.series) for (const p of s.points) commits.set(p.position, p.short);
    const positions = Array.from(commits.keys()).sort((a, b) => a - b);
    const first = positions[0];
    const band = plotW / (positions[positions.length - 1] - first + 1);
    const x = (pos) => MARGIN.left + (pos - first + 0.5) * band;
    // Machines side by side at a commit, so their error bars never hide
    // each other.
    const dodge = Math.min(7, band * 0.12);
    const px = (si, p) => round(x(p.position) + (si - (chart.series.length - 1) / 2) * dodge);
    const placed = placeMarkers(chart, px, band, plotW);
    const top = 14 + placed.rows * LABEL_ROW;
    const bottom = top + PLOT_HEIGHT;
    const height = bottom + MARGIN.bottom;
    const dom = yDomain(chart);
    const f = dom.log ? Math.log : (v) => v;
    const y = (v) => round(top + PLOT_HEIGHT * (1 - (f(v) - f(dom.lo)) / (f(dom.hi) - f(dom.lo))));

    const root = node('svg', {
      width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
      class: 'chart-svg', role: 'group', 'aria-labelledby': 'chart-' + ci + '-svgtitle',
      'data-chart': ci, 'data-points': total, 'data-series': chart.series.length,
    }, null);
    node('title', { id: 'chart-' + ci + '-svgtitle' }, root).textContent = chart.metric +
      ': median per commit with its 95% interval, one line per machine (' +
      chart.series.map((s) => s.name).join(', ') + ')';

    const grid = node('g', { class: 'grid' }, root);
    const axes = node('g', { class: 'axes' }, root);
    const ticks = dom.log ? logTicks(dom.lo, dom.hi) : linearTicks(dom.lo, dom.hi);
    for (const t of ticks) {
      node('line', { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: y(t), y2: y(t) }, grid);
      label(node('g', { class: 'tick' }, axes), MARGIN.left - 8, y(t) + 4, tickText(t), { 'text-anchor': 'end' });
    }
    node('line', { class: 'axis-line', x1: MARGIN.left, x2: MARGIN.left + plotW, y1: bottom, y2: bottom }, axes);
    node('line', { class: 'axis-line', x1: MARGIN.left, x2: MARGIN.left, y1: top, y2: bottom }, axes);
    // Every commit's id when they fit, else every k-th.
    const every = Math.ceil(positions.length / Math.max(1, Math.floor(plotW / 68)));
    positions.forEach((pos, i) => {
      if (i % every !== 0) return;
      const g = node('g', { class: 'tick commit' }, axes);
      const tx = round(x(pos));
      node('line', { class: 'axis-line', x1: tx, x2: tx, y1: bottom, y2: bottom + 5 }, g);
      label(g, tx, bottom + 18, commits.get(pos), { 'text-anchor': 'middle' });
    });
    const middle = (top + bottom) / 2;
    label(axes, 16, middle, 'median' + (chart.unit ? ', ' + chart.unit : '') + (dom.log ? ' (log scale)' : ''), {
      class: 'axis-title', 'text-anchor': 'middle', transform: 'rotate(-90 16 ' + middle + ')',
    });
    label(axes, MARGIN.left + plotW / 2, height - 10,
      'commit, oldest left (first-parent order) · ' + chart.better, { class: 'axis-title', 'text-anchor': 'middle' });

    const r = Math.max(2.5, Math.min(5, band * 0.3));
    const cap = Math.max(2, Math.min(6, band * 0.18));
    let rings = 0;
    chart.series.forEach((s, si) => {
      const g = node('g', { class: 'series ' + s.class, 'data-machine': s.machine.id, 'data-series': si }, root);
      for (const m of placed.markers.filter((m) => m.si === si)) {
        const cg = node('g', { class: 'cp', 'data-index': m.c.index, 'data-machine': s.machine.id }, g);
        node('title', {}, cg).textContent = 'Change point on ' + s.name + ': ' + m.c.label +
          ', p = ' + m.c.p_value.toFixed(3) + '; from commit ' + m.after.short + ' on';
        const ly = top - 10 - m.row * LABEL_ROW;
        node('line', { x1: m.cx, x2: m.cx, y1: ly + 4, y2: bottom }, cg);
        label(cg, m.end ? m.cx - 5 : m.cx + 5, ly, m.c.label, { 'text-anchor': m.end ? 'end' : 'start' });
      }
      node('polyline', {
        class: 'line', 'data-machine': s.machine.id, 'data-count': s.points.length,
        points: s.points.map((p) => px(si, p) + ',' + y(p.median)).join(' '),
      }, g);
      s.points.forEach((p, pi) => {
        const cx = px(si, p);
        const cy = y(p.median);
        if (p.interval) {
          const hi = y(p.interval.high);
          const lo = y(p.interval.low);
          node('path', {
            class: 'err',
            d: 'M' + cx + ' ' + hi + 'V' + lo + 'M' + (cx - cap) + ' ' + hi + 'H' + (cx + cap) +
              'M' + (cx - cap) + ' ' + lo + 'H' + (cx + cap),
          }, g);
        }
        const verdict = p.step ? p.step.verdict.toLowerCase() : '';
        if (verdict === 'regressed' || verdict === 'improved') {
          node('circle', { class: 'ring ' + verdict, cx: cx, cy: cy, r: r + 4 }, g);
          rings += 1;
        }
        const dot = node('circle', {
          class: 'pt', cx: cx, cy: cy, r: r, tabindex: 0, role: 'button',
          'data-commit': p.commit.id, 'data-machine': s.machine.id,
          'data-chart': ci, 'data-series': si, 'data-point': pi,
          'aria-label': p.short + ' ' + p.commit.subject + ': ' + p.median_text + ' on ' + s.name,
        }, g);
        node('title', {}, dot).textContent = p.short + ' ' + p.commit.subject + '\n' + s.name + ': ' +
          p.median_text + (p.interval_text ? ' ' + p.interval_text : '');
      });
    });
    host.appendChild(root);
    const legend = host.parentNode.querySelector('.legend');
    if (rings > 0 && legend && !legend.querySelector('.key')) {
      html('li', 'key', legend, 'ringed point: its compare against the parent regressed (red) or improved (green)');
    }
    if (chosen && chosen[0] === ci) mark(true);
    return true;
  }

  function pointAt(c, s, p) {
    return document.querySelector('.pt[data-chart="' + c + '"][data-series="' + s + '"][data-point="' + p + '"]');
  }

  function mark(on) {
    const dot = chosen && pointAt(chosen[0], chosen[1], chosen[2]);
    if (dot) dot.classList.toggle('selected', on);
  }

  function commitLink(p, text) {
    const code = html('code', '', null, text);
    if (!p.url) return code;
    const a = html('a', '', null);
    a.href = p.url;
    a.appendChild(code);
    return a;
  }

  function open(c, s, p, byUser) {
    const chart = data.charts[c];
    const series = chart && chart.series[s];
    const pt = series && series.points[p];
    if (!pt) return;
    mark(false);
    chosen = [c, s, p];
    mark(true);
    panel.textContent = '';
    panel.className = 'detail ' + series.class;
    panel.dataset.commit = pt.commit.id;
    panel.dataset.point = c + '/' + s + '/' + p;
    const h = html('h3', '', panel, 'Commit ');
    h.id = 'detail-title';
    h.appendChild(commitLink(pt, pt.short));
    h.append(' on ' + series.name);
    const close = html('button', 'close', panel, '×');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close the details');
    close.addEventListener('click', () => shut(true));
    html('p', 'subject', panel, pt.commit.subject);
    const dl = html('dl', '', panel);
    const row = (term, value) => {
      html('dt', '', dl, term);
      const dd = html('dd', '', dl);
      if (typeof value === 'string') dd.textContent = value;
      else dd.appendChild(value);
      return dd;
    };
    row('Commit', commitLink(pt, pt.commit.id));
    row('Time', pt.time_text);
    row('Position', '#' + pt.position + ' on the first-parent line');
    row('Machine', series.name === series.machine.id ? series.name : series.name + ' (' + series.machine.id + ')');
    row('Metric', chart.metric + (chart.better ? ' · ' + chart.better : ''));
    row('Median', pt.median_text);
    row('95% interval', pt.interval_text || 'none recorded');
    row('Runs', pt.runs + (pt.runs === 1 ? ' run' : ' runs') + ', n = ' + pt.n + ' samples');
    if (pt.step) {
      const dd = row('Against its parent', pt.step_change);
      html('span', 'verdict ' + pt.step.verdict.toLowerCase().replace(/[^a-z]+/g, '-'), dd, pt.step.verdict);
    } else {
      row('Against its parent', 'no compare recorded');
    }
    for (const cp of series.change_points) {
      if (cp.index === p) {
        row('Change point', cp.label + ' from this commit on (p = ' + cp.p_value.toFixed(3) + ')');
      }
    }
    const slot = document.querySelector('#chart-' + c + ' .detail-slot');
    if (slot) slot.appendChild(panel);
    panel.hidden = false;
    if (byUser) {
      history.replaceState(null, '', '#point=' + c + '/' + s + '/' + p);
      panel.focus({ preventScroll: true });
      panel.scrollIntoView({ block: 'nearest' });
    }
  }

  function shut(byUser) {
    const was = chosen;
    mark(false);
    chosen = null;
    panel.hidden = true;
    if (byUser) {
      history.replaceState(null, '', location.pathname + location.search);
      const dot = was && pointAt(was[0], was[1], was[2]);
      if (dot) dot.focus();
    }
  }

  function fromHash() {
    const m = /^#point=(\d+)\/(\d+)\/(\d+)$/.exec(location.hash);
    if (m) open(+m[1], +m[2], +m[3], false);
  }

  function choose(event) {
    const dot = event.target.closest ? event.target.closest('.pt') : null;
    if (!dot) return;
    event.preventDefault();
    open(+dot.dataset.chart, +dot.dataset.series, +dot.dataset.point, true);
  }

  function drawAll() {
    let drawn = 0;
    data.charts.forEach((_, i) => {
      if (draw(i)) drawn += 1;
    });
    return drawn;
  }

  const main = document.querySelector('main');
  main.addEventListener('click', choose);
  main.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') choose(event);
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && chosen) shut(true);
  });
  window.addEventListener('hashchange', fromHash);
  let lastWidth = window.innerWidth;
  let pending = 0;
  window.addEventListener('resize', () => {
    clearTimeout(pending);
    pending = setTimeout(() => {
      if (window.innerWidth === lastWidth) return;
      lastWidth = window.innerWidth;
      drawAll();
    }, 150);
  });
  // On paper the tables are the only way to read exact figures.
  window.addEventListener('beforeprint', () => {
    for (const d of document.querySelectorAll('details.points')) {
      d.dataset.wasOpen = d.open ? '1' : '';
      d.open = true;
    }
  });
  window.addEventListener('afterprint', () => {
    for (const d of document.querySelectorAll('details.points')) d.open = d.dataset.wasOpen === '1';
  });

  const drawn = drawAll();
  fromHash();
  document.body.dataset.rendered = String(drawn);
})();
