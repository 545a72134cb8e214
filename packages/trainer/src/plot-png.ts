import type { PlotPngRenderer } from './reports.ts';

/**
 * The SVG rendered to PNG with `@resvg/resvg-js` (an optional peer: prebuilt binaries from the npm registry, no
 * download step), or null when it is not installed. Text uses the system's fonts.
 */
export async function svgToPng(svg: string): Promise<Uint8Array | null> {
  let resvg: typeof import('@resvg/resvg-js');
  try {
    resvg = await import('@resvg/resvg-js');
  } catch (e) {
    if (
      (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ||
      (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
    ) {
      return null;
    }
    throw e;
  }
  return new resvg.Resvg(svg, { background: '#ffffff', font: { loadSystemFonts: true } }).render().asPng();
}

/** The PNG renderer for `png`: 'auto' writes plot.png when resvg is installed, true requires it, false never. */
export function plotPngRenderer(png: boolean | 'auto'): PlotPngRenderer | undefined {
  if (png === false) return undefined;
  return async (svg) => {
    const bytes = await svgToPng(svg);
    if (bytes === null && png === true) {
      throw new Error('plot.png needs the optional peer @resvg/resvg-js: npm install @resvg/resvg-js');
    }
    return bytes;
  };
}
