// Tiny SVG chart helpers for the o2c dashboard: a bar chart (vertical or
// horizontal), a single stacked bar, and an HTML legend. No library, no innerHTML:
// every label goes in through textContent, so server strings cannot inject markup.
'use strict';

const Charts = (() => {
  const NS = 'http://www.w3.org/2000/svg';

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) {
      // Colours go through style so CSS custom properties (var(--ch-web)) resolve.
      if (k === 'fill' || k === 'stroke') node.style[k] = v;
      else node.setAttribute(k, String(v));
    }
    if (text != null) node.textContent = String(text);
    return node;
  }

  // A <title> child gives each bar a native tooltip (and an accessible name).
  function titled(node, title) {
    if (title) node.append(svg('title', {}, title));
    return node;
  }

  // Bar lengths only: negative or non-numeric values draw as nothing.
  const size = v => Math.max(0, Number(v) || 0);

  /**
   * One bar split into coloured segments, drawn on a grey track.
   * segments: [{value, color, title}]; max: the value of a full-width bar
   * (so bars in a list share one scale). The SVG stretches to its container's
   * width (viewBox 0..100, no aspect ratio), and CSS sets its height.
   */
  function stackedBar({ segments, max, label }) {
    const total = segments.reduce((s, seg) => s + size(seg.value), 0);
    const scale = Math.max(size(max), total) || 1;
    const root = svg('svg', {
      class: 'stacked', viewBox: '0 0 100 10', preserveAspectRatio: 'none',
      role: 'img', 'aria-label': label || '',
    });
    root.append(svg('rect', { x: 0, y: 0, width: 100, height: 10, fill: 'var(--track)' }));
    let x = 0;
    for (const seg of segments) {
      const w = (size(seg.value) / scale) * 100;
      if (w <= 0) continue;
      root.append(titled(svg('rect', { x, y: 0, width: w, height: 10, fill: seg.color }), seg.title));
      x += w;
    }
    return root;
  }

  /**
   * A bar chart. items: [{label, value, text, color, title}] where `text` is what
   * to print by the bar (defaults to the value). orientation: 'vertical' (bars go
   * up, labels underneath) or 'horizontal' (labels on the left, bars go right).
   * width/height set the drawing's proportions; it scales to its container.
   */
  function barChart({ items, orientation = 'vertical', width = 420, height = 180, label }) {
    const root = svg('svg', {
      class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label || '',
    });
    const max = Math.max(...items.map(i => size(i.value)), 0) || 1;
    const horizontal = orientation === 'horizontal';

    if (horizontal) {
      const labelW = 96, valueW = 90, rowH = height / Math.max(items.length, 1);
      const barH = Math.min(22, rowH * 0.62);
      const span = width - labelW - valueW;
      items.forEach((item, i) => {
        const y = i * rowH + (rowH - barH) / 2;
        const mid = y + barH / 2;
        root.append(svg('text', { x: labelW - 8, y: mid, 'text-anchor': 'end', 'dominant-baseline': 'middle', 'font-size': 12 }, item.label));
        root.append(svg('rect', { x: labelW, y, width: span, height: barH, rx: 3, fill: 'var(--track)' }));
        const w = Math.max((size(item.value) / max) * span, size(item.value) > 0 ? 2 : 0);
        root.append(titled(svg('rect', { x: labelW, y, width: w, height: barH, rx: 3, fill: item.color }), item.title));
        root.append(svg('text', { class: 'value', x: labelW + w + 6, y: mid, 'dominant-baseline': 'middle', 'font-size': 12 }, item.text ?? item.value));
      });
      return root;
    }

    const top = 20, bottom = 22, gap = 14;
    const slot = width / Math.max(items.length, 1);
    const barW = Math.min(64, slot - gap);
    const span = height - top - bottom;
    root.append(svg('line', { x1: 0, x2: width, y1: top + span + 0.5, y2: top + span + 0.5, stroke: '#d5dbe3' }));
    items.forEach((item, i) => {
      const cx = i * slot + slot / 2;
      const h = Math.max((size(item.value) / max) * span, size(item.value) > 0 ? 2 : 0);
      const y = top + span - h;
      root.append(titled(svg('rect', { x: cx - barW / 2, y, width: barW, height: h, rx: 3, fill: item.color }), item.title));
      root.append(svg('text', { class: 'value', x: cx, y: y - 6, 'text-anchor': 'middle', 'font-size': 12 }, item.text ?? item.value));
      root.append(svg('text', { x: cx, y: height - 6, 'text-anchor': 'middle', 'font-size': 12 }, item.label));
    });
    return root;
  }

  /** An HTML legend: [{label, color}] as a row of swatches. */
  function legend(entries) {
    const ul = document.createElement('ul');
    ul.className = 'legend';
    for (const { label, color } of entries) {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = color;
      li.append(sw, document.createTextNode(label));
      ul.append(li);
    }
    return ul;
  }

  return { stackedBar, barChart, legend };
})();
