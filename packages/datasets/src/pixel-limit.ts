/**
 * One limit on the pixels of an image, for every decoder, checked from the header before any
 * pixel is decoded: a small file can declare a huge image (a decompression bomb). The default
 * is PIL's Image.MAX_IMAGE_PIXELS.
 */
export const DEFAULT_MAX_PIXELS = Math.floor((1024 * 1024 * 1024) / 4 / 3);

export function checkPixelLimit(width: number, height: number, maxPixels: number): void {
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new Error(`image is ${width}×${height} (${pixels.toLocaleString('en-US')} pixels), over the limit of ${maxPixels.toLocaleString('en-US')} pixels (a decompression bomb?); if you trust the file, raise the maxPixels option`);
  }
}
