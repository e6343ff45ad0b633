/**
 * Wide tables on a narrow screen: every `.table-scroll` frame becomes a named region the keyboard can reach
 * (tab to it, then the arrow keys scroll it: axe's scrollable-region-focusable), and one that is wider than
 * the screen says so in a line above the table (`data-overflow`, `data-hint`, styled in app.css). Screens
 * need do nothing but put their table in a `.table-scroll` frame: frames are found as they appear.
 */
import { t } from './i18n.js';

function mark(frame) {
  const caption = frame.querySelector('caption')?.textContent?.trim();
  const label = caption || t('table.scrolls');
  if (frame.getAttribute('aria-label') !== label) frame.setAttribute('aria-label', label);
  if (frame.getAttribute('tabindex') !== '0') frame.setAttribute('tabindex', '0');
  if (frame.getAttribute('role') !== 'region') frame.setAttribute('role', 'region');
  const overflow = frame.scrollWidth > frame.clientWidth + 1 ? 'true' : 'false';
  if (frame.dataset.overflow !== overflow) frame.dataset.overflow = overflow;
  const hint = t('table.scrollHint');
  if (frame.dataset.hint !== hint) frame.dataset.hint = hint;
}

export function markAll() {
  for (const frame of document.querySelectorAll('.table-scroll')) mark(frame);
}

/** Starts watching the page (once). */
export function watchScrollRegions() {
  let queued = false;
  const later = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      markAll();
    });
  };
  new MutationObserver(later).observe(document.body, { childList: true, subtree: true, characterData: true });
  window.addEventListener('resize', later);
  later();
}
