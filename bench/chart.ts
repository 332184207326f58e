/**
 * A grouped bar chart as a standalone SVG: one group per category, one bar per series. Small on
 * purpose; the benchmark and the dashboard panels only need bars with values on them.
 */
export interface BarChart {
  readonly title: string;
  readonly unit: string;
  readonly categories: readonly string[];
  readonly series: readonly {
    readonly name: string;
    readonly color: string;
    readonly values: readonly number[];
  }[];
  /** Dashed reference lines, e.g. a target. */
  readonly lines?: readonly { readonly label: string; readonly value: number }[];
  /** `log` for values spanning several orders of magnitude; the axis is marked at powers of 10. */
  readonly scale?: 'linear' | 'log';
}

/** Legend text width, roughly, at font size 11. */
const textWidth = (text: string): number => text.length * 5.8;

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const format = (value: number): string =>
  !Number.isFinite(value)
    ? 'n/a'
    : value >= 100
      ? value.toFixed(0)
      : value >= 10
        ? value.toFixed(1)
        : value.toFixed(2);

export function barChartSvg(chart: BarChart, width = 900, height = 360): string {
  const margin = { top: 48, right: 20, bottom: 72, left: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const values = chart.series.flatMap((s) => s.values.filter(Number.isFinite));
  const lineValues = (chart.lines ?? []).map((l) => l.value);
  const log = chart.scale === 'log';
  const max = log
    ? 10 ** Math.ceil(Math.log10(Math.max(...values, ...lineValues)) + 0.15)
    : Math.max(...values, ...lineValues, 1) * 1.12;
  const min = log ? 10 ** Math.floor(Math.log10(Math.min(...values, ...lineValues))) : 0;
  const fraction = (value: number): number =>
    log
      ? (Math.log10(Math.max(value, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))
      : value / max;
  const y = (value: number): number => margin.top + plotHeight - fraction(value) * plotHeight;
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(max / min)) + 1 }, (_, i) => min * 10 ** i)
    : [0, 1, 2, 3, 4].map((i) => (max / 4) * i);
  const groupWidth = plotWidth / chart.categories.length;
  const barWidth = (groupWidth * 0.8) / chart.series.length;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin.left}" y="22" font-size="15" font-weight="bold">${escape(chart.title)}</text>`,
  ];
  for (const value of ticks) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e5e5"/>`,
      `<text x="${margin.left - 6}" y="${y(value) + 4}" text-anchor="end" fill="#555">${format(value)}</text>`,
    );
  }
  parts.push(
    `<text x="14" y="${margin.top + plotHeight / 2}" transform="rotate(-90 14 ${margin.top + plotHeight / 2})" text-anchor="middle" fill="#555">${escape(chart.unit)}</text>`,
  );
  chart.categories.forEach((category, c) => {
    const x0 = margin.left + groupWidth * c + groupWidth * 0.1;
    chart.series.forEach((series, s) => {
      const value = series.values[c];
      if (!Number.isFinite(value)) return;
      const x = x0 + barWidth * s;
      parts.push(
        `<rect x="${x}" y="${y(value)}" width="${barWidth - 2}" height="${margin.top + plotHeight - y(value)}" fill="${series.color}"/>`,
        `<text x="${x + (barWidth - 2) / 2}" y="${y(value) - 3}" text-anchor="middle" font-size="9" fill="#333">${format(value)}</text>`,
      );
    });
    parts.push(
      `<text x="${margin.left + groupWidth * (c + 0.5)}" y="${margin.top + plotHeight + 16}" text-anchor="middle">${escape(category)}</text>`,
    );
  });
  for (const line of chart.lines ?? []) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(line.value)}" y2="${y(line.value)}" stroke="#c0392b" stroke-dasharray="5,4"/>`,
    );
  }
  let legendX = margin.left;
  chart.series.forEach((series) => {
    const x = legendX;
    legendX += 17 + textWidth(series.name) + 14;
    const legendY = height - 22;
    parts.push(
      `<rect x="${x}" y="${legendY - 9}" width="12" height="12" fill="${series.color}"/>`,
      `<text x="${x + 17}" y="${legendY + 1}">${escape(series.name)}</text>`,
    );
  });
  // A reference line's label goes in the legend, where no bar label can cover it.
  for (const line of chart.lines ?? []) {
    const legendY = height - 22;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 14}" y1="${legendY - 3}" y2="${legendY - 3}" stroke="#c0392b" stroke-dasharray="4,3"/>`,
      `<text x="${legendX + 19}" y="${legendY + 1}" fill="#c0392b">${escape(line.label)}</text>`,
    );
    legendX += 19 + textWidth(line.label) + 14;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export interface LineSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

const PALETTE = ['#2e86c1', '#e67e22', '#27ae60', '#c0392b', '#8e44ad', '#16a085', '#d4ac0d', '#7f8c8d'];

/** One time-series panel as an SVG group, for composing a dashboard. `x` values are seconds. */
export function linePanelSvg(
  title: string,
  unit: string,
  series: readonly LineSeries[],
  box: { x: number; y: number; width: number; height: number },
  format: (value: number) => string = (v) => format3(v),
): string {
  const margin = { top: 28, right: 12, bottom: 44, left: 58 };
  const plotWidth = box.width - margin.left - margin.right;
  const plotHeight = box.height - margin.top - margin.bottom;
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const [xMin, xMax] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  const yMax = Math.max(...ys, 0) * 1.1 || 1;
  const px = (x: number): number => margin.left + ((x - xMin) / (xMax - xMin || 1)) * plotWidth;
  const py = (y: number): number => margin.top + plotHeight - (y / yMax) * plotHeight;
  const parts = [
    `<g transform="translate(${box.x},${box.y})">`,
    `<rect width="${box.width}" height="${box.height}" rx="4" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="10" y="18" font-size="12" font-weight="bold" fill="#d8d9da">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 3; i++) {
    const value = (yMax / 3) * i;
    parts.push(
      `<line x1="${margin.left}" x2="${box.width - margin.right}" y1="${py(value)}" y2="${py(value)}" stroke="#2c3235"/>`,
      `<text x="${margin.left - 5}" y="${py(value) + 3}" text-anchor="end" font-size="9" fill="#8e8e8e">${escape(format(value))}${i === 3 ? ` ${escape(unit)}` : ''}</text>`,
    );
  }
  for (let t = Math.ceil(xMin / 30) * 30; t <= xMax; t += 30) {
    parts.push(
      `<text x="${px(t)}" y="${margin.top + plotHeight + 12}" text-anchor="middle" font-size="9" fill="#8e8e8e">${t}s</text>`,
    );
  }
  series.forEach((s, i) => {
    const points = s.points.filter(([, y]) => Number.isFinite(y));
    if (points.length === 0) return;
    const color = PALETTE[i % PALETTE.length];
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
    );
    const lx = margin.left + (i % 3) * (plotWidth / 3);
    const ly = box.height - 20 + Math.floor(i / 3) * 12;
    parts.push(
      `<rect x="${lx}" y="${ly - 7}" width="10" height="3" fill="${color}"/>`,
      `<text x="${lx + 14}" y="${ly - 3}" font-size="9" fill="#d8d9da">${escape(s.name)}</text>`,
    );
  });
  parts.push('</g>');
  return parts.join('\n');
}

/** A single-value panel. */
export function statPanelSvg(
  title: string,
  value: string,
  color: string,
  box: { x: number; y: number; width: number; height: number },
): string {
  return [
    `<g transform="translate(${box.x},${box.y})">`,
    `<rect width="${box.width}" height="${box.height}" rx="4" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="10" y="18" font-size="12" font-weight="bold" fill="#d8d9da">${escape(title)}</text>`,
    `<text x="${box.width / 2}" y="${box.height / 2 + 18}" text-anchor="middle" font-size="30" font-weight="bold" fill="${color}">${escape(value)}</text>`,
    '</g>',
  ].join('\n');
}

function format3(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(0)}M`;
  if (Math.abs(value) >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  if (Math.abs(value) >= 10) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(1);
  return value.toPrecision(2);
}
