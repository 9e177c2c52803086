/**
 * Vega-Lite spec → Vega → SVG → PNG (@resvg/resvg-js), shared by the lab's report
 * (examples/lab/render.ts) and the bench's charts (bench/chart.ts). All npm packages
 * (resvg's binary ships inside its registry package): no browser, canvas or network.
 */
export type Spec = Record<string, unknown>;

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Shared look: every chart the programs draw should read as one family. */
export const baseConfig = {
  font: FONT,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom', labelLimit: 420 },
  title: { fontSize: 14, anchor: 'start' },
  header: { labelFontSize: 12 },
};

export async function specToSvg(spec: Spec): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', background: 'white', config: baseConfig, ...spec };
  // Vega-Lite warns about independent faceted scales that are exactly what the charts want.
  const logger = vega.logger(vega.None);
  const compiled = vl.compile(full as unknown as Parameters<typeof vl.compile>[0], { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
