/**
 * The headless Chromium the explorer tests drive (Debian's `chromium`, playwright-core): where
 * it is, why a test skips without it, the folder its screenshots go to, and the console errors
 * of every page it opens (a page that logs one fails the test).
 */
import type { Test } from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { ROOT } from './devnode.js'

export const CHROMIUM = process.env.POVCHAIN_CHROMIUM ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here (undefined: they can). Under POVCHAIN_REQUIRE_CHROMIUM=1 (CI) a missing browser fails the file. */
export function chromiumMissing(t: Test): string | undefined {
  const missing = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set POVCHAIN_CHROMIUM)`
  if (missing && process.env.POVCHAIN_REQUIRE_CHROMIUM === '1') t.fail(`${missing}; POVCHAIN_REQUIRE_CHROMIUM=1 (CI) requires it`)
  return missing
}

/** The screenshot folder (POVCHAIN_EXPLORER_SHOTS, or a fresh one in the temp dir), printed as a test comment. */
export function shotsDir(t: Test): string {
  const shots = process.env.POVCHAIN_EXPLORER_SHOTS ?? join(tmpdir(), `povchain-explorer-shots-${process.pid}`)
  mkdirSync(shots, { recursive: true })
  t.comment(`screenshots: ${shots}`)
  return shots
}

export interface ExplorerBrowser {
  browser: Browser
  /** A page whose console errors and uncaught exceptions are collected in `problems`. */
  newPage(viewport?: { width: number; height: number }, isMobile?: boolean): Promise<Page>
  problems: string[]
}

/** Builds the explorer bundle if it is missing, launches Chromium (closed at teardown). */
export async function launchExplorerBrowser(t: Test): Promise<ExplorerBrowser> {
  if (!existsSync(join(ROOT, 'dist/explorer/site/index.html'))) execFileSync(process.execPath, [join(ROOT, 'explorer/build.mjs')], { stdio: 'inherit' })
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  t.teardown(() => browser.close())
  const problems: string[] = []
  return {
    browser,
    problems,
    async newPage(viewport = { width: 1280, height: 900 }, isMobile = false) {
      const page = await browser.newPage({ viewport, isMobile })
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`)
      })
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
      return page
    },
  }
}
