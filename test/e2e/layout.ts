/** Checks that a page reads in its language's direction: the document's attributes and where things sit. */
import { expect } from 'vitest';
import type { Lang, Page } from './support.ts';

// Evaluated in the page: the browser's globals, typed as far as these checks use them.
interface Box {
  left: number;
  right: number;
}
interface PageElement {
  id: string;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): Box;
}
declare const document: {
  documentElement: { lang: string; dir: string };
  activeElement: PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  createRange(): { selectNodeContents(node: PageElement): void; getBoundingClientRect(): Box };
};

/** The document's language and direction, and where the screen's heading sits in its column. */
async function layout(page: Page) {
  return page.evaluate(() => {
    const screen = document.querySelector('[data-screen]')!.getBoundingClientRect();
    const heading = document.querySelector('#screen-title')!;
    const range = document.createRange();
    range.selectNodeContents(heading);
    const text = range.getBoundingClientRect();
    const firstNav = document.querySelector('nav a')!.getBoundingClientRect();
    const lastNav = [...document.querySelectorAll('nav a')].at(-1)!.getBoundingClientRect();
    return {
      lang: document.documentElement.lang,
      dir: document.documentElement.dir,
      headingGapStart: text.left - screen.left,
      headingGapEnd: screen.right - text.right,
      navFirstIsRightOfLast: firstNav.left > lastNav.left,
    };
  });
}

/** Arabic reads from the right: the heading hugs the column's right edge and the menu starts on the right. */
export async function expectDirection(page: Page, lang: Lang) {
  const l = await layout(page);
  expect(l.lang).toBe(lang);
  if (lang === 'ar') {
    expect(l.dir).toBe('rtl');
    expect(l.headingGapEnd).toBeLessThan(l.headingGapStart);
    expect(l.navFirstIsRightOfLast).toBe(true);
  } else {
    expect(l.dir).toBe('ltr');
    expect(l.headingGapStart).toBeLessThan(l.headingGapEnd);
    expect(l.navFirstIsRightOfLast).toBe(false);
  }
}

export async function documentDir(page: Page): Promise<string> {
  return page.evaluate(() => document.documentElement.dir);
}

export async function focusedId(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.id ?? '');
}

/** Inputs and selects with neither a <label for> nor an aria-label. */
export async function unlabelledFields(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      [...document.querySelectorAll('input, select, textarea')].filter(
        (el) => !(el.id && document.querySelector(`label[for="${el.id}"]`)) && !el.getAttribute('aria-label'),
      ).length,
  );
}
