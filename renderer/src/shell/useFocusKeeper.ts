import { useEffect, type RefObject } from 'react';

/** A notice this fresh is where focus goes when the control that produced it disappeared. */
const FRESH_NOTICE_MS = 3_000;

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Focus never falls back to <body>. When the focused control disappears (a callout that was fixed, a Dismiss
 * button, a result replaced by the next step) the browser drops focus on <body> and a keyboard user starts
 * again from the top of the window. This puts it back where the control was: on a notice just shown about it,
 * else the first control in the nearest part of the window that is still there (remembered when focus
 * arrived), else `fallback` (the view). A click on empty space, which also leaves focus on <body>, is left
 * alone: the control that had focus is still there.
 */
export function useFocusKeeper(root: RefObject<HTMLElement | null>, fallback: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const el = root.current;
    if (!el) return;
    let last: HTMLElement | null = null;
    let ancestors: HTMLElement[] = [];
    const onFocusIn = (e: FocusEvent) => {
      last = e.target as HTMLElement;
      ancestors = [];
      for (let a = last.parentElement; a && a !== el; a = a.parentElement) ancestors.push(a);
    };
    const restore = () => {
      const notice = [...el.querySelectorAll<HTMLElement>('[data-notice]')].find((n) => Date.now() - Number(n.dataset.notice) < FRESH_NOTICE_MS);
      if (notice) return void notice.focus();
      for (const a of ancestors) {
        if (!a.isConnected) continue;
        // Past the part the control was in (the whole window around the view): the view itself, not the header.
        if (fallback.current && a !== fallback.current && a.contains(fallback.current)) break;
        const next = a.querySelector<HTMLElement>(FOCUSABLE);
        if (next) return void next.focus();
      }
      fallback.current?.focus();
    };
    // Removing the focused element fires no reliable event in every engine; a change to the page is when it can
    // happen, so look then.
    const observer = new MutationObserver(() => {
      if (last && !last.isConnected && (document.activeElement === document.body || document.activeElement === null)) restore();
    });
    observer.observe(el, { childList: true, subtree: true });
    el.addEventListener('focusin', onFocusIn);
    return () => {
      observer.disconnect();
      el.removeEventListener('focusin', onFocusIn);
    };
  }, [root, fallback]);
}
