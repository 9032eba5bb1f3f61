/**
 * Budget vs drawn power over the run as a hand-written SVG (no dependency):
 * axes with ticks and labels, a title and a legend. PNG is not produced:
 * rasterising would need a native or browser dependency for one picture.
 */

export interface PlotSeries {
  minute: number[];
  budgetKw: number[];
  drawnKw: number[];
}

const W = 960;
const H = 420;
const M = { left: 70, right: 30, top: 40, bottom: 50 };

function niceStep(range: number, target: number): number {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderSvg(s: PlotSeries, title: string): string {
  const maxMin = Math.max(1, s.minute.at(-1) ?? 1);
  const maxKw = Math.max(1, ...s.budgetKw, ...s.drawnKw) * 1.05;
  const x = (m: number): number => M.left + (m / maxMin) * (W - M.left - M.right);
  const y = (kw: number): number => H - M.bottom - (kw / maxKw) * (H - M.top - M.bottom);
  // Budget is a step function: draw it as steps; drawn power as a line.
  const steps: string[] = [];
  s.minute.forEach((m, i) => {
    const b = s.budgetKw[i]!;
    if (i === 0) steps.push(`M${x(m).toFixed(1)},${y(b).toFixed(1)}`);
    else steps.push(`H${x(m).toFixed(1)}V${y(b).toFixed(1)}`);
  });
  const drawn = s.minute.map((m, i) => `${i === 0 ? 'M' : 'L'}${x(m).toFixed(1)},${y(s.drawnKw[i]!).toFixed(1)}`).join('');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  const kwStep = niceStep(maxKw, 6);
  for (let v = 0; v <= maxKw; v += kwStep) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v >= 1000 ? `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)} MW` : `${v} kW`}</text>`);
  }
  const hourStep = maxMin > 12 * 60 ? 120 : maxMin > 3 * 60 ? 60 : niceStep(maxMin, 8);
  for (let m = 0; m <= maxMin; m += hourStep) {
    out.push(`<line x1="${x(m).toFixed(1)}" x2="${x(m).toFixed(1)}" y1="${H - M.bottom}" y2="${H - M.bottom + 5}" stroke="black"/>`);
    const label = hourStep >= 60 ? `${String(Math.floor(m / 60)).padStart(2, '0')}:00` : `${m} min`;
    out.push(`<text x="${x(m).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle">${label}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="black"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="black"/>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">time from start</text>`);
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">power</text>`);
  out.push(`<path d="${steps.join('')}" fill="none" stroke="#f2a900" stroke-width="1.5"/>`);
  out.push(`<path d="${drawn}" fill="none" stroke="#1f5fbf" stroke-width="1.2"/>`);
  const lx = W - M.right - 190;
  out.push(`<rect x="${lx}" y="${M.top + 4}" width="180" height="44" fill="white" stroke="#999"/>`);
  out.push(`<line x1="${lx + 10}" x2="${lx + 40}" y1="${M.top + 18}" y2="${M.top + 18}" stroke="#f2a900" stroke-width="2"/>`);
  out.push(`<text x="${lx + 48}" y="${M.top + 22}">budget (surplus)</text>`);
  out.push(`<line x1="${lx + 10}" x2="${lx + 40}" y1="${M.top + 36}" y2="${M.top + 36}" stroke="#1f5fbf" stroke-width="2"/>`);
  out.push(`<text x="${lx + 48}" y="${M.top + 40}">drawn by the fleet</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
