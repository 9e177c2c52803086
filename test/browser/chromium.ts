/**
 * Debian's Chromium, headless, driven by playwright-core (no browser download), with
 * WebGPU on SwiftShader. Missing: the browser tests skip, except under CI=true.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && existsSync(p));
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
export const CHROMIUM_SKIP = CHROMIUM ? '' : ' (skipped: no chromium at /usr/bin/chromium or $CHROMIUM_PATH)';

if (!CHROMIUM && process.env.CI === 'true') throw new Error("CI=true but Chromium is not installed (bash .ci/setup-system installs Debian's chromium)");

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan', '--use-vulkan=swiftshader', '--disable-background-networking'],
    env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD },
  });
}
