/** An inline SVG bar chart (no script, no external assets: the dashboard works offline). */

export interface Bar {
  label: string;
  value: number;
  color: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function barChart(bars: readonly Bar[], options: { title: string; width?: number; height?: number }): string {
  const width = options.width ?? 420;
  const height = options.height ?? 220;
  const top = 24;
  const bottom = 28;
  const plot = height - top - bottom;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const slot = width / Math.max(1, bars.length);
  const barWidth = Math.min(80, slot * 0.6);
  const parts = bars.map((b, i) => {
    const h = Math.round((b.value / max) * plot);
    const x = Math.round(i * slot + (slot - barWidth) / 2);
    const y = top + plot - h;
    const label = escapeHtml(b.label);
    return (
      `<g class="bar" data-label="${label}" data-value="${b.value}">` +
      `<rect x="${x}" y="${y}" width="${Math.round(barWidth)}" height="${h}" fill="${b.color}"><title>${label}: ${b.value}</title></rect>` +
      `<text x="${x + barWidth / 2}" y="${y - 6}" text-anchor="middle" font-size="12">${b.value}</text>` +
      `<text x="${x + barWidth / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${label}</text></g>`
    );
  });
  return (
    `<svg class="chart" role="img" aria-label="${escapeHtml(options.title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<line x1="0" y1="${top + plot}" x2="${width}" y2="${top + plot}" stroke="#999"/>${parts.join('')}</svg>`
  );
}
