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
interface PageText {
  data: string;
}
declare const document: {
  body: PageElement;
  documentElement: { lang: string; dir: string };
  createTreeWalker(root: PageElement, whatToShow: number): { nextNode(): PageText | null };
  activeElement: PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  createRange(): {
    selectNodeContents(node: PageElement): void;
    setStart(node: PageText, offset: number): void;
    setEnd(node: PageText, offset: number): void;
    getBoundingClientRect(): Box;
  };
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

/**
 * Where each of `parts` starts on the screen, from the left, in the first text on the page that holds them
 * all in this order: a phone number or a sum must read left to right inside Arabic text too.
 */
export async function leftEdges(page: Page, parts: readonly string[]): Promise<number[] | null> {
  return page.evaluate((wanted) => {
    const SHOW_TEXT = 4;
    const walker = document.createTreeWalker(document.body, SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const offsets: number[] = [];
      let from = 0;
      for (const part of wanted) {
        const at = node.data.indexOf(part, from);
        if (at < 0) break;
        offsets.push(at);
        from = at + part.length;
      }
      if (offsets.length !== wanted.length) continue;
      const textNode = node;
      return offsets.map((at, i) => {
        const range = document.createRange();
        range.setStart(textNode, at);
        range.setEnd(textNode, at + wanted[i]!.length);
        return range.getBoundingClientRect().left;
      });
    }
    return null;
  }, parts);
}

/** `parts` are on the page, in one text, laid out from left to right. */
export async function expectLeftToRight(page: Page, parts: readonly string[]) {
  const edges = await leftEdges(page, parts);
  expect(edges, `${parts.join(' ')} on the page`).not.toBeNull();
  for (let i = 1; i < edges!.length; i += 1) expect(edges![i]).toBeGreaterThan(edges![i - 1]!);
}
